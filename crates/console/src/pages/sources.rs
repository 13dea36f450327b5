//! Sources: the list, a source's page (with "validate", which reads a sample through
//! `POST /1/sources/{id}/validate`), forms per type, and delete.

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use crate::Console;
use crate::forms::{FormError, Kind, Values, field};
use crate::layout::{Section, csrf, nothing};
use crate::pages::encode;
use crate::pages::resource::{self, Mode, Spec, TypeSpec};
use crate::session::{SignedForm, SignedIn};

const METHODS: &[&str] = &["GET", "POST"];

/// Sources and their fields per type.
pub static SPEC: Spec = Spec {
    section: Section::Sources,
    title: "Sources",
    noun: "source",
    base: "/console/sources",
    api: "/1/sources",
    list_key: "sources",
    id_key: "sourceID",
    intro: "Where records come from: a CSV or JSON file over HTTP, BigQuery, commercetools, BigCommerce, an Algolia index, or records pushed through the API.",
    uses_authentication: true,
    uses_transformation: false,
    validates: true,
    detail_actions,
    types: &[
        TypeSpec {
            name: "csv",
            label: "CSV",
            fields: &[
                field(
                    "input.url",
                    "URL",
                    Kind::Text,
                    "Where the CSV file is (http or https).",
                ),
                field(
                    "input.uniqueIDColumn",
                    "Unique ID column",
                    Kind::Text,
                    "The column whose value becomes each record's objectID.",
                ),
                field(
                    "input.delimiter",
                    "Delimiter",
                    Kind::Text,
                    "One character; a comma when empty.",
                ),
                field("input.method", "HTTP method", Kind::Select(METHODS), ""),
                field(
                    "input.mapping",
                    "Column types",
                    Kind::Mapping,
                    "Columns not listed are read as strings.",
                ),
            ],
            edit_fields: None,
        },
        TypeSpec {
            name: "json",
            label: "JSON",
            fields: &[
                field(
                    "input.url",
                    "URL",
                    Kind::Text,
                    "Where the JSON document is: an array of records, or one per line.",
                ),
                field(
                    "input.uniqueIDColumn",
                    "Unique ID attribute",
                    Kind::Text,
                    "The attribute whose value becomes each record's objectID.",
                ),
                field("input.method", "HTTP method", Kind::Select(METHODS), ""),
            ],
            edit_fields: None,
        },
        TypeSpec {
            name: "bigquery",
            label: "BigQuery",
            fields: &[
                field("input.projectID", "Project ID", Kind::Text, ""),
                field("input.datasetID", "Dataset ID", Kind::Text, ""),
                field("input.table", "Table", Kind::Text, ""),
                field(
                    "input.dataType",
                    "Data type",
                    Kind::Select(&["ga4", "ga360"]),
                    "Only for Google Analytics exports.",
                ),
                field("input.tablePrefix", "Table prefix", Kind::Text, ""),
                field(
                    "input.customSQLRequest",
                    "Custom SQL",
                    Kind::LongText,
                    "Instead of a table: a query.",
                ),
                field("input.uniqueIDColumn", "Unique ID column", Kind::Text, ""),
            ],
            edit_fields: None,
        },
        TypeSpec {
            name: "commercetools",
            label: "commercetools",
            fields: &[
                field("input.projectKey", "Project key", Kind::Text, ""),
                field(
                    "input.url",
                    "API URL",
                    Kind::Text,
                    "e.g. https://api.europe-west1.gcp.commercetools.com",
                ),
                field(
                    "input.storeKeys",
                    "Store keys",
                    Kind::Lines,
                    "One per line; every store when empty.",
                ),
                field(
                    "input.locales",
                    "Locales",
                    Kind::Lines,
                    "One per line, e.g. en-US.",
                ),
                field(
                    "input.productQueryPredicate",
                    "Product query predicate",
                    Kind::Text,
                    "",
                ),
            ],
            edit_fields: Some(&[
                field(
                    "input.storeKeys",
                    "Store keys",
                    Kind::Lines,
                    "One per line; every store when empty.",
                ),
                field(
                    "input.locales",
                    "Locales",
                    Kind::Lines,
                    "One per line, e.g. en-US.",
                ),
            ]),
        },
        TypeSpec {
            name: "bigcommerce",
            label: "BigCommerce",
            fields: &[
                field("input.storeHash", "Store hash", Kind::Text, ""),
                field(
                    "input.channel.id",
                    "Channel ID",
                    Kind::Number,
                    "Only the products of this channel (optional).",
                ),
            ],
            edit_fields: Some(&[]),
        },
        TypeSpec {
            name: "algoliaIndex",
            label: "Algolia index",
            fields: &[
                field(
                    "input.indexName",
                    "Index name",
                    Kind::Text,
                    "An index of the destination's application, browsed.",
                ),
                field(
                    "input.filters",
                    "Filters",
                    Kind::Text,
                    "Only the records matching these filters (optional).",
                ),
            ],
            edit_fields: None,
        },
        TypeSpec {
            name: "push",
            label: "Push (records sent through the API)",
            fields: &[],
            edit_fields: None,
        },
    ],
};

/// Under a source's properties: validate it as stored, and the tasks that read it.
fn detail_actions(session: &SignedIn, id: &str) -> Markup {
    html! {
        div.actions {
            form method="post" action={ "/console/sources/" (encode(id)) "/validate" } {
                (csrf(session))
                button.secondary type="submit" { "Validate: read a sample" }
            }
            a href={ "/console/tasks?source=" (encode(id)) } { "Tasks reading this source" }
        }
    }
}

/// The result of a validation: the sampled records, or why it failed.
fn validation_result(result: &Result<Value, crate::api_call::ApiFailure>) -> Markup {
    let run_link = |body: &Value| {
        body.get("runID").and_then(Value::as_str).map(|run| {
            html! {
                " " a href={ "/console/runs/" (run) } { "See the validation's run" } "."
            }
        })
    };
    html! {
        section.card #validation aria-live="polite" {
            h2 { "Validation" }
            @match result {
                Ok(answer) => {
                    @let records = answer.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
                    p.notice role="status" { "The source answered: " (records.len()) " sample records." (run_link(answer).unwrap_or_else(nothing)) }
                    (sample_table(&records))
                }
                Err(failure) => {
                    div.alert role="alert" { (failure.sentence()) (run_link(&failure.body).unwrap_or_else(nothing)) }
                }
            }
        }
    }
}

/// Sampled records as a table: a column per attribute (objectID first), values cut at 80
/// characters.
fn sample_table(records: &[Value]) -> Markup {
    let mut columns: Vec<String> = vec!["objectID".to_owned()];
    for record in records {
        if let Some(object) = record.as_object() {
            for key in object.keys() {
                if !columns.contains(key) {
                    columns.push(key.clone());
                }
            }
        }
    }
    let cell = |record: &Value, column: &str| {
        let text = record
            .get(column)
            .map(crate::layout::json_text)
            .unwrap_or_default();
        if text.chars().count() > 80 {
            format!("{}…", text.chars().take(80).collect::<String>())
        } else {
            text
        }
    };
    html! {
        div.table-wrap {
            table #sample {
                thead { tr { @for column in &columns { th { (column) } } } }
                tbody {
                    @for record in records {
                        tr { @for column in &columns { td { (cell(record, column)) } } }
                    }
                }
            }
        }
    }
}

/// Runs a validation (`POST path` with the body the form gives, or the error it gives) and
/// shows the form again with its result under it.
async fn validate_and_show(
    console: &Console,
    form: &SignedForm,
    mode: Mode<'_>,
    values: Values<'_>,
    path: &str,
    body: Result<serde_json::Map<String, Value>, FormError>,
) -> Response {
    let (result, error) = match body {
        Ok(body) => {
            let result = console
                .api(
                    &form.session.app,
                    Method::POST,
                    path,
                    Some(&Value::Object(body)),
                )
                .await;
            let error = result
                .as_ref()
                .err()
                .filter(|f| f.field().is_some())
                .map(FormError::from_api);
            (Some(result), error)
        }
        Err(error) => (None, Some(error)),
    };
    let after = result.as_ref().map_or_else(nothing, validation_result);
    resource::form_page(
        console,
        &form.session,
        &SPEC,
        mode,
        values,
        error.as_ref(),
        StatusCode::OK,
        after,
    )
    .await
}

/// `POST /console/sources/validate`: validates the new source's form without saving it.
pub async fn validate_new(State(console): State<Console>, form: SignedForm) -> Response {
    let Some(t) = resource::new_type(&SPEC, form.get("_type")) else {
        return resource::choose_type(&form.session, &SPEC);
    };
    let mode = Mode::New(t);
    let body = resource::body(&form, &SPEC, mode);
    validate_and_show(
        &console,
        &form,
        mode,
        Values::Submitted(&form),
        "/1/sources/validate",
        body,
    )
    .await
}

/// `POST /console/sources/{id}/validate`: from the source's page, validates it as stored; from
/// its edit form, with the changes typed.
pub async fn validate(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let (item, t) = match resource::stored(&console, &form.session, &SPEC, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mode = Mode::Edit(t, &id);
    let path = format!("/1/sources/{}/validate", encode(&id));
    if form.get("_type").is_empty() {
        let body = Ok(serde_json::Map::new());
        validate_and_show(&console, &form, mode, Values::Stored(&item), &path, body).await
    } else {
        let body = resource::body(&form, &SPEC, mode);
        validate_and_show(&console, &form, mode, Values::Submitted(&form), &path, body).await
    }
}
