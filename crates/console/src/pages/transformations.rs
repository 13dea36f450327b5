//! Transformations: the list, an editor (JavaScript in a monospace area) and "try" against a
//! sample record, pasted or read from a source's validation sample, showing the output records
//! or the error with its line (`POST /1/transformations/try`).

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Map, Value};

use crate::Console;
use crate::api_call::ApiFailure;
use crate::forms::{FormError, form_alert, select_field};
use crate::layout::{Section, csrf, nothing, page, time};
use crate::pages::encode;
use crate::pages::resource::{options, read};
use crate::pages::{
    api_error, confirm_delete as confirm_page, delete_then_list, page_number, pairs, param, respond,
};
use crate::session::{SignedForm, SignedIn};

const EXAMPLE: &str = "async function transform(record, helper) {\n  // record is one source record; return it (changed), an array, or undefined to drop it.\n  return record;\n}\n";
const SAMPLE: &str = "{\n  \"objectID\": \"1\",\n  \"name\": \"example\"\n}";

/// `GET /console/transformations`.
pub async fn list(State(console): State<Console>, session: SignedIn, uri: Uri) -> Response {
    let query = pairs(uri.query());
    let now = console.now();
    let page_no = page_number(&query);
    let answer = match read(
        &console,
        &session,
        &format!("/1/transformations?itemsPerPage=50&page={page_no}"),
    )
    .await
    {
        Ok(answer) => answer,
        Err(response) => return response,
    };
    let items = answer
        .get("transformations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let done = param(&query, "done");
    let body = html! {
        h1 { "Transformations" }
        p.sub { "JavaScript that changes records on their way to a destination: attach one to a destination." }
        @match done {
            "deleted" => { div.notice role="status" { "Deleted." } }
            _ => {}
        }
        div.actions { a.button href="/console/transformations/new" { "New transformation" } }
        @if items.is_empty() {
            div.card.empty { "No transformation yet. " a href="/console/transformations/new" { "Write the first one" } ", try it on a sample record, then attach it to a destination." }
        } @else {
            div.table-wrap {
                table {
                    thead { tr { th { "Name" } th { "Type" } th.hide-narrow { "Description" } th { "Updated" } } }
                    tbody {
                        @for item in &items {
                            @let id = item.get("transformationID").and_then(Value::as_str).unwrap_or("");
                            tr {
                                td { a href={ "/console/transformations/" (id) } { (item.get("name").and_then(Value::as_str).unwrap_or("(unnamed)")) } }
                                td { (item.get("type").and_then(Value::as_str).unwrap_or("code")) }
                                td.hide-narrow { (item.get("description").and_then(Value::as_str).unwrap_or("")) }
                                td { (time(item.get("updatedAt").and_then(Value::as_str).unwrap_or(""), now)) }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        page(
            "Transformations",
            Section::Transformations,
            Some(&session),
            body,
        ),
    )
}

/// What the editor shows.
struct Editor<'a> {
    id: Option<&'a str>,
    name: String,
    description: String,
    code: String,
    sample: String,
    sample_source: String,
    notice: Option<&'static str>,
}

async fn editor(
    console: &Console,
    session: &SignedIn,
    shown: &Editor<'_>,
    error: Option<&FormError>,
    tried: Markup,
    status: StatusCode,
) -> Response {
    let sources = options(
        console,
        session,
        "/1/sources?itemsPerPage=100",
        "sources",
        "sourceID",
    )
    .await;
    let (title, action) = match shown.id {
        Some(id) => (
            format!("Transformation {}", shown.name),
            format!("/console/transformations/{}", encode(id)),
        ),
        None => (
            "New transformation".to_owned(),
            "/console/transformations/new".to_owned(),
        ),
    };
    let code_error = error.filter(|e| e.belongs_to("input.code") || e.belongs_to("code"));
    let body = html! {
        p.sub { a href="/console/transformations" { "Transformations" } " /" }
        h1 { (title) }
        @if let Some(notice) = shown.notice { div.notice role="status" { (notice) } }
        (form_alert(&["name", "input.code", "code", "description", "sampleRecord"], error))
        form.stacked.card method="post" action=(action) novalidate {
            (csrf(session))
            @if let Some(id) = shown.id { input type="hidden" name="_id" value=(id); }
            div.field {
                label for="f-name" { "Name" }
                input #f-name type="text" name="name" value=(shown.name) aria-invalid=[error.filter(|e| e.belongs_to("name")).map(|_| "true")];
                @if let Some(e) = error.filter(|e| e.belongs_to("name")) { p.error role="alert" { (e.message) } }
            }
            div.field {
                label for="f-description" { "Description" }
                input #f-description type="text" name="description" value=(shown.description);
            }
            div.field {
                label for="f-code" { "Code (JavaScript)" }
                textarea.code #f-code name="code" spellcheck="false" autocapitalize="off" aria-invalid=[code_error.map(|_| "true")] aria-describedby="f-code-help" { (shown.code) }
                p.help #f-code-help { "Defines " code { "transform(record, helper)" } ": return the record, an array of records, or nothing to drop it. " code { "helper.secrets.get(name)" } " reads a secret." }
                @if let Some(e) = code_error { p.error #f-code-error role="alert" { (e.message) } }
            }
            fieldset {
                legend { "Try it" }
                div.two {
                    div.field {
                        label for="f-sample" { "Sample record (JSON)" }
                        textarea.code #f-sample name="sampleRecord" spellcheck="false" aria-invalid=[error.filter(|e| e.belongs_to("sampleRecord")).map(|_| "true")] { (shown.sample) }
                        @if let Some(e) = error.filter(|e| e.belongs_to("sampleRecord")) { p.error role="alert" { (e.message) } }
                    }
                    div {
                        (select_field("sampleSource", "…or the first record of a source's sample", &sources, &shown.sample_source, Some("(use the record on the left)"), "Reads the source like its Validate button does.", None))
                    }
                }
                button.secondary type="submit" formaction="/console/transformations/try" { "Try" }
            }
            div.actions {
                button type="submit" { @if shown.id.is_some() { "Save changes" } @else { "Create transformation" } }
                @if let Some(id) = shown.id { a.button.secondary href={ "/console/transformations/" (id) "/delete" } { "Delete" } }
                a.button.secondary href="/console/transformations" { "Cancel" }
            }
        }
        (tried)
    };
    respond(
        status,
        page(&title, Section::Transformations, Some(session), body),
    )
}

fn editor_from_form<'a>(form: &'a SignedForm, notice: Option<&'static str>) -> Editor<'a> {
    let id = Some(form.get("_id")).filter(|id| !id.is_empty());
    Editor {
        id,
        name: form.get("name").to_owned(),
        description: form.get("description").to_owned(),
        code: form
            .fields
            .iter()
            .find(|(k, _)| k == "code")
            .map_or_else(String::new, |(_, v)| v.clone()),
        sample: form.get("sampleRecord").to_owned(),
        sample_source: form.get("sampleSource").to_owned(),
        notice,
    }
}

fn transformation_body(form: &SignedForm) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("name".into(), Value::String(form.get("name").to_owned()));
    body.insert("type".into(), Value::String("code".into()));
    let code = form
        .fields
        .iter()
        .find(|(k, _)| k == "code")
        .map_or("", |(_, v)| v.as_str());
    body.insert("input".into(), serde_json::json!({ "code": code }));
    if !form.get("description").is_empty() {
        body.insert(
            "description".into(),
            Value::String(form.get("description").to_owned()),
        );
    }
    body
}

/// `GET /console/transformations/new`.
pub async fn new(State(console): State<Console>, session: SignedIn) -> Response {
    let shown = Editor {
        id: None,
        name: String::new(),
        description: String::new(),
        code: EXAMPLE.to_owned(),
        sample: SAMPLE.to_owned(),
        sample_source: String::new(),
        notice: None,
    };
    editor(&console, &session, &shown, None, nothing(), StatusCode::OK).await
}

/// The editor again, with the form as sent and the API's refusal under its field (400).
async fn refused(console: &Console, form: &SignedForm, failure: &ApiFailure) -> Response {
    let error = FormError::from_api(failure);
    editor(
        console,
        &form.session,
        &editor_from_form(form, None),
        Some(&error),
        nothing(),
        StatusCode::BAD_REQUEST,
    )
    .await
}

/// `POST /console/transformations/new`.
pub async fn create(State(console): State<Console>, form: SignedForm) -> Response {
    let body = Value::Object(transformation_body(&form));
    match console
        .api(
            &form.session.app,
            Method::POST,
            "/1/transformations",
            Some(&body),
        )
        .await
    {
        Ok(answer) => {
            let id = answer
                .get("transformationID")
                .and_then(Value::as_str)
                .unwrap_or("");
            Redirect::to(&format!(
                "/console/transformations/{}?done=created",
                encode(id)
            ))
            .into_response()
        }
        Err(failure) => refused(&console, &form, &failure).await,
    }
}

/// `GET /console/transformations/{id}`: the editor of a stored transformation.
pub async fn edit(
    State(console): State<Console>,
    session: SignedIn,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let query = pairs(uri.query());
    let item = match read(
        &console,
        &session,
        &format!("/1/transformations/{}", encode(&id)),
    )
    .await
    {
        Ok(item) => item,
        Err(response) => return response,
    };
    let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let code = item
        .get("input")
        .and_then(|i| i.get("code"))
        .and_then(Value::as_str)
        .map_or_else(|| text("code"), str::to_owned);
    let shown = Editor {
        id: Some(&id),
        name: text("name"),
        description: text("description"),
        code,
        sample: SAMPLE.to_owned(),
        sample_source: String::new(),
        notice: match param(&query, "done") {
            "created" => Some("Created. Attach it to a destination to use it."),
            "saved" => Some("The changes are saved."),
            _ => None,
        },
    };
    editor(&console, &session, &shown, None, nothing(), StatusCode::OK).await
}

/// `POST /console/transformations/{id}`: saves the editor (`PUT`).
pub async fn update(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let body = Value::Object(transformation_body(&form));
    let path = format!("/1/transformations/{}", encode(&id));
    match console
        .api(&form.session.app, Method::PUT, &path, Some(&body))
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/console/transformations/{}?done=saved",
            encode(&id)
        ))
        .into_response(),
        Err(failure) if failure.status == 404 => api_error(&failure),
        Err(failure) => refused(&console, &form, &failure).await,
    }
}

/// The sample record: from the chosen source's validation, or the one pasted.
async fn sample(console: &Console, form: &SignedForm) -> Result<Value, FormError> {
    let source = form.get("sampleSource");
    if !source.is_empty() {
        let path = format!("/1/sources/{}/validate", encode(source));
        let answer = console
            .api(
                &form.session.app,
                Method::POST,
                &path,
                Some(&Value::Object(Map::new())),
            )
            .await
            .map_err(|failure| FormError {
                field: Some("sampleSource".into()),
                message: format!("The source's sample could not be read: {}", failure.message),
            })?;
        return answer
            .get("data")
            .and_then(Value::as_array)
            .and_then(|records| records.first())
            .cloned()
            .ok_or_else(|| FormError {
                field: Some("sampleSource".into()),
                message: "The source gave no record to try.".into(),
            });
    }
    serde_json::from_str::<Value>(form.get("sampleRecord"))
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| FormError {
            field: Some("sampleRecord".into()),
            message: "sampleRecord: must be a JSON object".into(),
        })
}

/// `POST /console/transformations/try`: runs the editor's code on the sample, shows the result.
pub async fn try_it(State(console): State<Console>, form: SignedForm) -> Response {
    let mut shown = editor_from_form(&form, None);
    let record = match sample(&console, &form).await {
        Ok(record) => record,
        Err(error) => {
            return editor(
                &console,
                &form.session,
                &shown,
                Some(&error),
                nothing(),
                StatusCode::OK,
            )
            .await;
        }
    };
    if !form.get("sampleSource").is_empty() {
        shown.sample = serde_json::to_string_pretty(&record).unwrap_or_default();
    }
    let code = form
        .fields
        .iter()
        .find(|(k, _)| k == "code")
        .map_or("", |(_, v)| v.as_str());
    let body =
        serde_json::json!({ "type": "code", "input": { "code": code }, "sampleRecord": record });
    let answer = match console
        .api(
            &form.session.app,
            Method::POST,
            "/1/transformations/try",
            Some(&body),
        )
        .await
    {
        Ok(answer) => answer,
        Err(failure) => {
            let error = FormError::from_api(&failure);
            return editor(
                &console,
                &form.session,
                &shown,
                Some(&error),
                nothing(),
                StatusCode::OK,
            )
            .await;
        }
    };
    // A failure is also shown under the code, where the line it names is.
    let error = answer
        .get("error")
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(|message| FormError {
            field: Some("code".into()),
            message: message.to_owned(),
        });
    editor(
        &console,
        &form.session,
        &shown,
        error.as_ref(),
        try_result(&answer),
        StatusCode::OK,
    )
    .await
}

fn try_result(answer: &Value) -> Markup {
    let payloads: Vec<Value> = answer
        .get("payloads")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|p| {
                    p.as_str()
                        .and_then(|s| serde_json::from_str(s).ok())
                        .unwrap_or_else(|| p.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    let error = answer.get("error").filter(|e| !e.is_null());
    html! {
        section.card #try-result aria-live="polite" {
            h2 { "Result" }
            @if let Some(error) = error {
                div.alert role="alert" #try-error {
                    (error.get("message").and_then(Value::as_str).unwrap_or("The transformation failed."))
                }
            } @else if payloads.is_empty() {
                p.notice role="status" { "The transformation dropped the record: nothing would be sent." }
            } @else {
                p.notice role="status" { (payloads.len()) " record(s) would be sent:" }
                @for payload in &payloads {
                    pre.card.try-output { (serde_json::to_string_pretty(payload).unwrap_or_default()) }
                }
            }
        }
    }
}

/// `GET /console/transformations/{id}/delete`.
pub async fn confirm_delete(
    State(console): State<Console>,
    session: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let item = match read(
        &console,
        &session,
        &format!("/1/transformations/{}", encode(&id)),
    )
    .await
    {
        Ok(item) => item,
        Err(response) => return response,
    };
    let name = item
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("(unnamed)");
    confirm_page(
        &session,
        Section::Transformations,
        "transformation",
        name,
        &format!("/console/transformations/{}/delete", encode(&id)),
        &format!("/console/transformations/{}", encode(&id)),
    )
}

/// `POST /console/transformations/{id}/delete`.
pub async fn delete(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let path = format!("/1/transformations/{}", encode(&id));
    delete_then_list(
        &console,
        &form.session.app,
        &path,
        "/console/transformations",
    )
    .await
}
