//! Sources, destinations and authentications share one shape: a list, a detail page, a form per
//! type (create and edit) and a delete with a confirmation step. A [`Spec`] describes a resource
//! (its API path, its types and their [`Field`]s, what it refers to); [`routes`] serves its pages
//! and the functions here do the rest, reading and writing through the API's routes in process.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde_json::{Map, Value};

use crate::Console;
use crate::forms::{
    Field, FormError, Kind, Values, body_from, field, form_alert, get_path, render_fields,
    select_field,
};
use crate::layout::{Section, csrf, json_text, nothing, page, pager, time};
use crate::pages::{
    api_error, confirm_delete, delete_then_list, encode, page_number, pairs, param, respond,
};
use crate::session::{SignedForm, SignedIn};

/// One type of a resource and its fields.
#[derive(Debug)]
pub struct TypeSpec {
    /// The API's `type`.
    pub name: &'static str,
    /// What a person calls it.
    pub label: &'static str,
    /// Its fields on create.
    pub fields: &'static [Field],
    /// Its fields on edit (what the API's PATCH takes for this type); `None`: the same.
    pub edit_fields: Option<&'static [Field]>,
}

/// A resource the console lists, shows, creates, edits and deletes.
#[derive(Debug)]
pub struct Spec {
    /// Its navigation section.
    pub section: Section,
    /// Its plural, capitalized (`Sources`).
    pub title: &'static str,
    /// Its singular (`source`).
    pub noun: &'static str,
    /// The console's path (`/console/sources`).
    pub base: &'static str,
    /// The API's path (`/1/sources`).
    pub api: &'static str,
    /// The list answer's key (`sources`).
    pub list_key: &'static str,
    /// The ID's key (`sourceID`).
    pub id_key: &'static str,
    /// What it is, in a line.
    pub intro: &'static str,
    /// Its types.
    pub types: &'static [TypeSpec],
    /// Whether it refers to an authentication (`authenticationID`).
    pub uses_authentication: bool,
    /// Whether it goes through a transformation (`transformationIDs`, at most one).
    pub uses_transformation: bool,
    /// Whether its forms have "validate" (`/console/sources/validate`,
    /// `/console/sources/{id}/validate`).
    pub validates: bool,
    /// What its page shows under the properties (a source's validate and tasks).
    pub detail_actions: fn(&SignedIn, &str) -> Markup,
}

/// [`Spec::detail_actions`] of a resource whose page shows nothing more.
pub fn no_actions(_: &SignedIn, _: &str) -> Markup {
    nothing()
}

/// The name field every resource has.
pub const NAME: Field = field("name", "Name", Kind::Text, "");

impl Spec {
    /// The type named `kind`; with one type only, also when no type is named.
    fn type_spec(&self, kind: &str) -> Option<&'static TypeSpec> {
        match self.types {
            [only] if kind.is_empty() => Some(only),
            types => types.iter().find(|t| t.name == kind),
        }
    }

    /// The API path of resource `id`.
    fn api_path(&self, id: &str) -> String {
        format!("{}/{}", self.api, encode(id))
    }

    /// The console path of resource `id`.
    fn page_path(&self, id: &str) -> String {
        format!("{}/{}", self.base, encode(id))
    }
}

/// The pages of `spec`: its list, `new`, its page, `edit` and `delete`.
pub fn routes(spec: &'static Spec) -> Router<Console> {
    let one = format!("{}/{{id}}", spec.base);
    Router::new()
        .route(
            spec.base,
            get(
                move |State(console): State<Console>, session: SignedIn, uri: Uri| async move {
                    let query = pairs(uri.query());
                    list(&console, &session, spec, page_number(&query), param(&query, "done")).await
                },
            ),
        )
        .route(
            &format!("{}/new", spec.base),
            get(
                move |State(console): State<Console>, session: SignedIn, uri: Uri| async move {
                    let query = pairs(uri.query());
                    new_page(&console, &session, spec, param(&query, "type")).await
                },
            )
            .post(
                move |State(console): State<Console>, uri: Uri, form: SignedForm| async move {
                    let query = pairs(uri.query());
                    create_page(&console, spec, param(&query, "type"), &form).await
                },
            ),
        )
        .route(
            &one,
            get(
                move |State(console): State<Console>,
                      session: SignedIn,
                      Path(id): Path<String>,
                      uri: Uri| async move {
                    let query = pairs(uri.query());
                    detail(&console, &session, spec, &id, param(&query, "done")).await
                },
            ),
        )
        .route(
            &format!("{one}/edit"),
            get(
                move |State(console): State<Console>, session: SignedIn, Path(id): Path<String>| async move {
                    edit_page(&console, &session, spec, &id).await
                },
            )
            .post(
                move |State(console): State<Console>, Path(id): Path<String>, form: SignedForm| async move {
                    update_page(&console, spec, &id, &form).await
                },
            ),
        )
        .route(
            &format!("{one}/delete"),
            get(
                move |State(console): State<Console>, session: SignedIn, Path(id): Path<String>| async move {
                    confirm(&console, &session, spec, &id).await
                },
            )
            .post(
                move |State(console): State<Console>, Path(id): Path<String>, form: SignedForm| async move {
                    delete(&console, spec, &form, &id).await
                },
            ),
        )
}
/// Fetches `path` from the API as the session's application.
pub async fn read(console: &Console, session: &SignedIn, path: &str) -> Result<Value, Response> {
    console
        .api(&session.app, Method::GET, path, None)
        .await
        .map_err(|failure| api_error(&failure))
}

/// Authentications as select options (`id`, `name (type)`).
async fn authentication_options(console: &Console, session: &SignedIn) -> Vec<(String, String)> {
    options(
        console,
        session,
        "/1/authentications?itemsPerPage=100",
        "authentications",
        "authenticationID",
    )
    .await
}

/// A list answer's items as select options.
pub async fn options(
    console: &Console,
    session: &SignedIn,
    path: &str,
    key: &str,
    id_key: &str,
) -> Vec<(String, String)> {
    let Ok(answer) = read(console, session, path).await else {
        return Vec::new();
    };
    answer
        .get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let text =
                        |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                    (text(id_key), format!("{} ({})", text("name"), text("type")))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The sentence of a `done=` notice.
fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "created" => "Created.",
        "saved" => "The changes are saved.",
        "deleted" => "Deleted.",
        _ => return None,
    })
}

/// The list page.
async fn list(
    console: &Console,
    session: &SignedIn,
    spec: &Spec,
    page_number: u64,
    done: &str,
) -> Response {
    let now = console.now();
    let answer = match read(
        console,
        session,
        &format!("{}?itemsPerPage=50&page={page_number}", spec.api),
    )
    .await
    {
        Ok(answer) => answer,
        Err(response) => return response,
    };
    let items = answer
        .get(spec.list_key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let pagination = answer.get("pagination").cloned().unwrap_or(Value::Null);
    let number = |k: &str| pagination.get(k).and_then(Value::as_u64).unwrap_or(0);
    let body = html! {
        h1 { (spec.title) }
        p.sub { (spec.intro) }
        @if let Some(notice) = notice(done) { div.notice role="status" { (notice) } }
        div.actions { a.button href={ (spec.base) "/new" } { "New " (spec.noun) } }
        @if items.is_empty() {
            div.card.empty { "No " (spec.noun) " yet. " a href={ (spec.base) "/new" } { "Create the first one" } "." }
        } @else {
            div.table-wrap {
                table {
                    thead { tr { th { "Name" } th { "Type" } th.hide-narrow { "ID" } th { "Updated" } } }
                    tbody {
                        @for item in &items {
                            @let id = item.get(spec.id_key).and_then(Value::as_str).unwrap_or("");
                            tr {
                                td { a href={ (spec.base) "/" (id) } { (item.get("name").and_then(Value::as_str).unwrap_or("(unnamed)")) } }
                                td { (item.get("type").and_then(Value::as_str).unwrap_or("")) }
                                td.hide-narrow.id { (id) }
                                td { (time(item.get("updatedAt").and_then(Value::as_str).unwrap_or(""), now)) }
                            }
                        }
                    }
                }
            }
            (pager(spec.base, &[], number("page"), number("nbPages"), number("nbItems")))
        }
    };
    respond(
        StatusCode::OK,
        page(spec.title, spec.section, Some(session), body),
    )
}

/// The detail page, with the spec's actions under the properties.
async fn detail(
    console: &Console,
    session: &SignedIn,
    spec: &Spec,
    id: &str,
    done: &str,
) -> Response {
    let now = console.now();
    let item = match read(console, session, &spec.api_path(id)).await {
        Ok(item) => item,
        Err(response) => return response,
    };
    let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
    let name = item
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("(unnamed)");
    let fields = spec.type_spec(kind).map_or(&[][..], |t| t.fields);
    let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let body = html! {
        p.sub { a href=(spec.base) { (spec.title) } " /" }
        h1 { (name) }
        p.sub { (kind) " " (spec.noun) " · " span.id { (id) } }
        (crate::layout::api_paths(&[format!("GET {}/{id}", spec.api)]))
        @if let Some(notice) = notice(done) { div.notice role="status" { (notice) } }
        div.actions {
            a.button href={ (spec.base) "/" (id) "/edit" } { "Edit" }
            a.button.secondary href={ (spec.base) "/" (id) "/delete" } { "Delete" }
        }
        div.card {
            dl.props {
                @if let Some(auth) = item.get("authenticationID").and_then(Value::as_str) {
                    dt { "Authentication" } dd { a href={ "/console/authentications/" (auth) } { (auth) } }
                }
                @if let Some(platform) = item.get("platform").and_then(Value::as_str) {
                    dt { "Platform" } dd { (platform) }
                }
                @for f in fields {
                    @let value = get_path(&item, f.path);
                    dt { (f.label) }
                    dd {
                        @match f.kind {
                            Kind::Secret | Kind::LongSecret | Kind::SecretJson => { "set (write-only: never shown)" }
                            Kind::Mapping => {
                                @match value.and_then(Value::as_object) {
                                    Some(map) if !map.is_empty() => {
                                        @for (column, kind) in map { code { (column) } " → " (json_text(kind)) br; }
                                    }
                                    _ => { "—" }
                                }
                            }
                            _ => { (value.map_or_else(|| "—".to_owned(), json_text)) }
                        }
                    }
                }
                dt { "Created" } dd { (time(&text("createdAt"), now)) }
                dt { "Updated" } dd { (time(&text("updatedAt"), now)) }
            }
        }
        ((spec.detail_actions)(session, id))
    };
    respond(
        StatusCode::OK,
        page(name, spec.section, Some(session), body),
    )
}

/// Which form is shown.
#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    /// A new resource of this type.
    New(&'static TypeSpec),
    /// Editing the stored resource `id` of this type.
    Edit(&'static TypeSpec, &'a str),
}

impl Mode<'_> {
    fn type_spec(self) -> &'static TypeSpec {
        match self {
            Mode::New(t) | Mode::Edit(t, _) => t,
        }
    }

    /// The form's fields: the name, then the type's (on edit, those the API's PATCH takes).
    fn fields(self) -> Vec<Field> {
        let own = match self {
            Mode::New(t) => t.fields,
            Mode::Edit(t, _) => t.edit_fields.unwrap_or(t.fields),
        };
        std::iter::once(NAME).chain(own.iter().copied()).collect()
    }
}

/// The create or edit form; `after` goes after the form (a validation's result).
#[expect(clippy::too_many_arguments, reason = "a form page is its parts")]
pub async fn form_page(
    console: &Console,
    session: &SignedIn,
    spec: &Spec,
    mode: Mode<'_>,
    values: Values<'_>,
    error: Option<&FormError>,
    status: StatusCode,
    after: Markup,
) -> Response {
    let type_spec = mode.type_spec();
    let (action, title, validate) = match mode {
        Mode::New(t) => (
            format!("{}/new?type={}", spec.base, t.name),
            format!("New {} {}", t.label, spec.noun),
            format!("{}/validate", spec.base),
        ),
        Mode::Edit(t, id) => (
            format!("{}/edit", spec.page_path(id)),
            format!("Edit {} {}", t.label, spec.noun),
            format!("{}/validate", spec.page_path(id)),
        ),
    };
    let fields = mode.fields();
    let paths: Vec<&str> = fields
        .iter()
        .map(|f| f.path)
        .chain(["authenticationID", "transformationIDs", "type", "input"])
        .collect();
    let chosen = |key: &str| match values {
        Values::Stored(item) => match item.get(key) {
            Some(Value::Array(ids)) => ids.first().and_then(Value::as_str).unwrap_or(""),
            other => other.and_then(Value::as_str).unwrap_or(""),
        }
        .to_owned(),
        Values::Submitted(form) => form.get(key).to_owned(),
        Values::Empty => String::new(),
    };
    let authentications = if spec.uses_authentication {
        authentication_options(console, session).await
    } else {
        Vec::new()
    };
    let transformations = if spec.uses_transformation {
        options(
            console,
            session,
            "/1/transformations?itemsPerPage=100",
            "transformations",
            "transformationID",
        )
        .await
    } else {
        Vec::new()
    };
    let body = html! {
        p.sub { a href=(spec.base) { (spec.title) } " /" }
        h1 { (title) }
        @if let (Mode::Edit(t, _), Some(_)) = (mode, type_spec.edit_fields) {
            p.sub { "A " (t.label) " " (spec.noun) " can change only these fields after it is created." }
        }
        (form_alert(&paths, error))
        form.stacked.card method="post" action=(action) novalidate {
            (csrf(session))
            (render_fields(&fields, values, error))
            @if spec.uses_authentication {
                (select_field("authenticationID", "Authentication", &authentications, &chosen("authenticationID"), Some("None"), "The credentials it uses, if it needs some.", error))
            }
            @if spec.uses_transformation {
                (select_field("transformationIDs", "Transformation", &transformations, &chosen("transformationIDs"), Some("None"), "Every record goes through it before it is sent.", error))
            }
            div.actions {
                button type="submit" { @if matches!(mode, Mode::New(_)) { "Create " (spec.noun) } @else { "Save changes" } }
                @if spec.validates && type_spec.name != "push" {
                    button.secondary type="submit" formaction=(validate) name="_type" value=(type_spec.name) { "Validate" }
                }
                a.button.secondary href=(spec.base) { "Cancel" }
            }
        }
        (after)
    };
    respond(status, page(&title, spec.section, Some(session), body))
}

/// The type chooser of a new resource.
pub fn choose_type(session: &SignedIn, spec: &Spec) -> Response {
    let body = html! {
        p.sub { a href=(spec.base) { (spec.title) } " /" }
        h1 { "New " (spec.noun) }
        p { "What kind of " (spec.noun) "?" }
        ul {
            @for t in spec.types {
                li { a href={ (spec.base) "/new?type=" (t.name) } { (t.label) } }
            }
        }
    };
    respond(
        StatusCode::OK,
        page(
            &format!("New {}", spec.noun),
            spec.section,
            Some(session),
            body,
        ),
    )
}

/// The type of `GET .../new?type=`, or the chooser.
pub fn new_type(spec: &Spec, kind: &str) -> Option<&'static TypeSpec> {
    spec.type_spec(kind)
}

/// The body of a create or update, from the form.
pub fn body(
    form: &SignedForm,
    spec: &Spec,
    mode: Mode<'_>,
) -> Result<Map<String, Value>, FormError> {
    let mut body = body_from(form, &mode.fields())?;
    if let Mode::New(t) = mode {
        body.insert("type".into(), Value::String(t.name.to_owned()));
    }
    if spec.uses_authentication {
        let auth = form.get("authenticationID");
        if !auth.is_empty() {
            body.insert("authenticationID".into(), Value::String(auth.to_owned()));
        }
    }
    if spec.uses_transformation {
        // One at most; none chosen on edit detaches it.
        let chosen = form.get("transformationIDs");
        if !chosen.is_empty() {
            body.insert("transformationIDs".into(), serde_json::json!([chosen]));
        } else if matches!(mode, Mode::Edit(..)) {
            body.insert("transformationIDs".into(), serde_json::json!([]));
        }
    }
    Ok(body)
}

/// Creates (`POST {api}`) or updates (`PATCH {api}/{id}`) from the form: on success the
/// resource's page; otherwise the form again with the error by its field.
async fn submit(console: &Console, spec: &Spec, mode: Mode<'_>, form: &SignedForm) -> Response {
    let (method, path, done) = match mode {
        Mode::New(_) => (Method::POST, spec.api.to_owned(), "created"),
        Mode::Edit(_, id) => (Method::PATCH, spec.api_path(id), "saved"),
    };
    let result = match body(form, spec, mode) {
        Ok(body) => console
            .api(&form.session.app, method, &path, Some(&Value::Object(body)))
            .await
            .map_err(|f| FormError::from_api(&f)),
        Err(error) => Err(error),
    };
    match result {
        Ok(answer) => {
            let id = match mode {
                Mode::New(_) => answer
                    .get(spec.id_key)
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                Mode::Edit(_, id) => id,
            };
            Redirect::to(&format!("{}?done={done}", spec.page_path(id))).into_response()
        }
        Err(error) => {
            form_page(
                console,
                &form.session,
                spec,
                mode,
                Values::Submitted(form),
                Some(&error),
                StatusCode::BAD_REQUEST,
                nothing(),
            )
            .await
        }
    }
}

/// The confirmation step of a delete.
async fn confirm(console: &Console, session: &SignedIn, spec: &Spec, id: &str) -> Response {
    let item = match read(console, session, &spec.api_path(id)).await {
        Ok(item) => item,
        Err(response) => return response,
    };
    let name = item
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("(unnamed)");
    confirm_delete(
        session,
        spec.section,
        spec.noun,
        name,
        &format!("{}/delete", spec.page_path(id)),
        &spec.page_path(id),
    )
}

/// Deletes the resource; a refusal (in use) is shown on an error page with the API's reason.
async fn delete(console: &Console, spec: &Spec, form: &SignedForm, id: &str) -> Response {
    delete_then_list(console, &form.session.app, &spec.api_path(id), spec.base).await
}

/// `GET {base}/new?type=`: the form of that type, or the type chooser.
async fn new_page(console: &Console, session: &SignedIn, spec: &Spec, kind: &str) -> Response {
    match new_type(spec, kind) {
        Some(t) => {
            form_page(
                console,
                session,
                spec,
                Mode::New(t),
                Values::Empty,
                None,
                StatusCode::OK,
                nothing(),
            )
            .await
        }
        None => choose_type(session, spec),
    }
}

/// `POST {base}/new?type=`.
async fn create_page(console: &Console, spec: &Spec, kind: &str, form: &SignedForm) -> Response {
    match new_type(spec, kind) {
        Some(t) => submit(console, spec, Mode::New(t), form).await,
        None => choose_type(&form.session, spec),
    }
}

/// The stored resource and its type (a type the console has no form for is refused).
pub async fn stored(
    console: &Console,
    session: &SignedIn,
    spec: &Spec,
    id: &str,
) -> Result<(Value, &'static TypeSpec), Response> {
    let item = read(console, session, &spec.api_path(id)).await?;
    let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
    match spec.types.iter().find(|t| t.name == kind) {
        Some(t) => Ok((item, t)),
        None => Err(crate::pages::error_page(
            StatusCode::BAD_REQUEST,
            &format!(
                "This type of {} cannot be edited here: use the API.",
                spec.noun
            ),
        )),
    }
}

/// `GET {base}/{id}/edit`.
async fn edit_page(console: &Console, session: &SignedIn, spec: &Spec, id: &str) -> Response {
    match stored(console, session, spec, id).await {
        Ok((item, t)) => {
            form_page(
                console,
                session,
                spec,
                Mode::Edit(t, id),
                Values::Stored(&item),
                None,
                StatusCode::OK,
                nothing(),
            )
            .await
        }
        Err(response) => response,
    }
}

/// `POST {base}/{id}/edit`.
async fn update_page(console: &Console, spec: &Spec, id: &str, form: &SignedForm) -> Response {
    match stored(console, &form.session, spec, id).await {
        Ok((_, t)) => submit(console, spec, Mode::Edit(t, id), form).await,
        Err(response) => response,
    }
}
