//! Authentications: the list, an authentication's page (its secrets only as "set"), forms per
//! type whose secret fields are write-only (left empty, the stored value stays), and delete.

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;

use crate::Console;
use crate::forms::{Kind, field};
use crate::layout::{Section, nothing};
use crate::pages::resource::{self, Spec, TypeSpec};
use crate::pages::{page_number, pairs, param};
use crate::session::{SignedForm, SignedIn};

const PLATFORMS: &[&str] = &["bigcommerce", "commercetools"];

/// Authentications and their fields per type.
pub static SPEC: Spec = Spec {
    section: Section::Authentications,
    title: "Authentications",
    noun: "authentication",
    base: "/console/authentications",
    api: "/1/authentications",
    list_key: "authentications",
    id_key: "authenticationID",
    intro: "Credentials that sources and destinations use. Secrets are encrypted at rest and never shown again.",
    uses_authentication: false,
    types: &[
        TypeSpec {
            name: "algolia",
            label: "Algolia",
            fields: &[
                field("input.appID", "Application ID", Kind::Text, ""),
                field(
                    "input.apiKey",
                    "API key",
                    Kind::Secret,
                    "A key with the addObject, deleteIndex and editSettings rights.",
                ),
            ],
            edit_fields: None,
        },
        TypeSpec {
            name: "basic",
            label: "Basic (user and password)",
            fields: &[
                field("input.username", "User name", Kind::Text, ""),
                field("input.password", "Password", Kind::Secret, ""),
                field("platform", "Platform", Kind::Select(PLATFORMS), ""),
            ],
            edit_fields: None,
        },
        TypeSpec {
            name: "apiKey",
            label: "API key",
            fields: &[
                field("input.key", "Key", Kind::Secret, ""),
                field("platform", "Platform", Kind::Select(PLATFORMS), ""),
            ],
            edit_fields: None,
        },
        TypeSpec {
            name: "oauth",
            label: "OAuth (client credentials)",
            fields: &[
                field("input.url", "Token URL", Kind::Text, ""),
                field("input.client_id", "Client ID", Kind::Text, ""),
                field("input.client_secret", "Client secret", Kind::Secret, ""),
                field("input.scope", "Scope", Kind::Text, ""),
                field("platform", "Platform", Kind::Select(PLATFORMS), ""),
            ],
            edit_fields: None,
        },
        TypeSpec {
            name: "googleServiceAccount",
            label: "Google service account",
            fields: &[
                field("input.clientEmail", "Client e-mail", Kind::Text, ""),
                field(
                    "input.privateKey",
                    "Private key (PEM)",
                    Kind::LongSecret,
                    "",
                ),
            ],
            edit_fields: None,
        },
        TypeSpec {
            name: "algoliaInsights",
            label: "Algolia Insights",
            fields: &[
                field("input.appID", "Application ID", Kind::Text, ""),
                field("input.apiKey", "API key", Kind::Secret, ""),
            ],
            edit_fields: None,
        },
        TypeSpec {
            name: "secrets",
            label: "Secrets for transformations",
            fields: &[field(
                "input",
                "Secrets (JSON object of name → value)",
                Kind::SecretJson,
                "e.g. {\"PRICE_API_KEY\": \"…\"}. Write-only: leave empty to keep the stored ones.",
            )],
            edit_fields: None,
        },
    ],
};

/// `GET /console/authentications`.
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

/// `GET /console/authentications/new`.
pub async fn new(State(console): State<Console>, session: SignedIn, uri: Uri) -> Response {
    let query = pairs(uri.query());
    resource::new_page(&console, &session, &SPEC, param(&query, "type")).await
}

/// `POST /console/authentications/new?type=`.
pub async fn create(State(console): State<Console>, uri: Uri, form: SignedForm) -> Response {
    let query = pairs(uri.query());
    resource::create_page(&console, &SPEC, param(&query, "type"), &form).await
}

/// `GET /console/authentications/{id}`.
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

/// `GET /console/authentications/{id}/edit`.
pub async fn edit(
    State(console): State<Console>,
    session: SignedIn,
    Path(id): Path<String>,
) -> Response {
    resource::edit_page(&console, &session, &SPEC, &id).await
}

/// `POST /console/authentications/{id}/edit`.
pub async fn update(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    resource::update_page(&console, &SPEC, &id, &form).await
}

/// `GET /console/authentications/{id}/delete`.
pub async fn confirm_delete(
    State(console): State<Console>,
    session: SignedIn,
    Path(id): Path<String>,
) -> Response {
    resource::confirm(&console, &session, &SPEC, &id).await
}

/// `POST /console/authentications/{id}/delete`.
pub async fn delete(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    resource::delete(&console, &SPEC, &form, &id).await
}
