//! Destinations: the list, a destination's page, the form (index, record type, attributes to
//! exclude, the Algolia authentication, the transformation), and delete.

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use maud::Markup;
use serde_json::Value;

use crate::Console;
use crate::forms::{FormError, Kind, Values, field, select_field};
use crate::layout::{Section, nothing};
use crate::pages::resource::{self, Mode, Spec, TypeSpec, options};
use crate::pages::tasks::encode;
use crate::pages::{page_number, pairs, param};
use crate::session::{SignedForm, SignedIn};

const SEARCH_FIELDS: &[crate::forms::Field] = &[
    field(
        "input.indexName",
        "Index name",
        Kind::Text,
        "The Algolia index the records go to.",
    ),
    field(
        "input.recordType",
        "Record type",
        Kind::Select(&["product", "variant", "collection"]),
        "For commerce sources (optional).",
    ),
    field(
        "input.attributesToExclude",
        "Attributes to exclude",
        Kind::Lines,
        "One per line: removed from every record before it is sent.",
    ),
];

/// Destinations and their fields.
pub static SPEC: Spec = Spec {
    section: Section::Destinations,
    title: "Destinations",
    noun: "destination",
    base: "/console/destinations",
    api: "/1/destinations",
    list_key: "destinations",
    id_key: "destinationID",
    intro: "Where records go: an Algolia index, reached with an algolia authentication, through a transformation if one is set.",
    uses_authentication: true,
    types: &[TypeSpec {
        name: "search",
        label: "Algolia index",
        fields: SEARCH_FIELDS,
        edit_fields: None,
    }],
};

async fn transformation_select(
    console: &Console,
    session: &SignedIn,
    selected: &str,
    error: Option<&FormError>,
) -> Markup {
    let transformations = options(
        console,
        session,
        "/1/transformations?itemsPerPage=100",
        "transformations",
        "transformationID",
    )
    .await;
    select_field(
        "transformationIDs",
        "Transformation",
        &transformations,
        selected,
        Some("None"),
        "Every record goes through it before it is sent.",
        error,
    )
}

fn chosen_transformation(values: Values<'_>) -> String {
    match values {
        Values::Stored(item) => item
            .get("transformationIDs")
            .and_then(Value::as_array)
            .and_then(|ids| ids.first())
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        Values::Submitted(form) => form.get("transformationIDs").to_owned(),
        Values::Empty => String::new(),
    }
}

async fn show_form(
    console: &Console,
    session: &SignedIn,
    mode: Mode<'_>,
    values: Values<'_>,
    error: Option<&FormError>,
    status: StatusCode,
) -> Response {
    let more = transformation_select(console, session, &chosen_transformation(values), error).await;
    resource::form_page(
        console,
        session,
        &SPEC,
        mode,
        values,
        error,
        status,
        more,
        nothing(),
    )
    .await
}

/// `GET /console/destinations`.
pub async fn list(State(console): State<Console>, session: SignedIn, uri: Uri) -> Response {
    let query = pairs(uri.query());
    resource::list(
        &console,
        &session,
        &SPEC,
        page_number(&query),
        param(&query, "done"),
    )
    .await
}

/// `GET /console/destinations/new`.
pub async fn new(State(console): State<Console>, session: SignedIn, uri: Uri) -> Response {
    let query = pairs(uri.query());
    let kind = match param(&query, "type") {
        "" => "search",
        other => other,
    };
    match resource::new_type(&SPEC, kind) {
        Some(t) => {
            show_form(
                &console,
                &session,
                Mode::New(t),
                Values::Empty,
                None,
                StatusCode::OK,
            )
            .await
        }
        None => resource::choose_type(&session, &SPEC),
    }
}

fn body_with_transformation(
    form: &SignedForm,
    mode: Mode<'_>,
) -> Result<serde_json::Map<String, Value>, FormError> {
    let mut body = resource::body(form, &SPEC, mode)?;
    let chosen = form.get("transformationIDs");
    if !chosen.is_empty() {
        body.insert("transformationIDs".into(), serde_json::json!([chosen]));
    } else if matches!(mode, Mode::Edit(..)) {
        body.insert("transformationIDs".into(), serde_json::json!([]));
    }
    Ok(body)
}

/// `POST /console/destinations/new`.
pub async fn create(State(console): State<Console>, uri: Uri, form: SignedForm) -> Response {
    let query = pairs(uri.query());
    let kind = match param(&query, "type") {
        "" => "search",
        other => other,
    };
    let Some(t) = resource::new_type(&SPEC, kind) else {
        return resource::choose_type(&form.session, &SPEC);
    };
    let mode = Mode::New(t);
    let result = match body_with_transformation(&form, mode) {
        Ok(body) => resource::create(&console, &SPEC, &form, body)
            .await
            .map_err(|f| FormError::from_api(&f)),
        Err(error) => Err(error),
    };
    match result {
        Ok(response) => response,
        Err(error) => {
            show_form(
                &console,
                &form.session,
                mode,
                Values::Submitted(&form),
                Some(&error),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `GET /console/destinations/{id}`.
pub async fn detail(
    State(console): State<Console>,
    session: SignedIn,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let query = pairs(uri.query());
    resource::detail(
        &console,
        &session,
        &SPEC,
        &id,
        param(&query, "done"),
        nothing(),
    )
    .await
}

/// `GET /console/destinations/{id}/edit`.
pub async fn edit(
    State(console): State<Console>,
    session: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let item = match resource::read(
        &console,
        &session,
        &format!("/1/destinations/{}", encode(&id)),
    )
    .await
    {
        Ok(item) => item,
        Err(response) => return response,
    };
    let t = &SPEC.types[0];
    show_form(
        &console,
        &session,
        Mode::Edit(t, &id),
        Values::Stored(&item),
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /console/destinations/{id}/edit`.
pub async fn update(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let mode = Mode::Edit(&SPEC.types[0], &id);
    let result = match body_with_transformation(&form, mode) {
        Ok(body) => resource::update(&console, &SPEC, &form, &id, Method::PATCH, body)
            .await
            .map_err(|f| FormError::from_api(&f)),
        Err(error) => Err(error),
    };
    match result {
        Ok(response) => response,
        Err(error) => {
            show_form(
                &console,
                &form.session,
                mode,
                Values::Submitted(&form),
                Some(&error),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `GET /console/destinations/{id}/delete`.
pub async fn confirm_delete(
    State(console): State<Console>,
    session: SignedIn,
    Path(id): Path<String>,
) -> Response {
    resource::confirm(&console, &session, &SPEC, &id).await
}

/// `POST /console/destinations/{id}/delete`.
pub async fn delete(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    resource::delete(&console, &SPEC, &form, &id).await
}
