//! Authentications: their types and fields ([`resource`] serves the pages): secret fields are
//! write-only (left empty, the stored value stays) and their page shows them only as "set".

use crate::forms::{Kind, field};
use crate::layout::Section;
use crate::pages::resource::{self, Spec, TypeSpec};

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
    uses_transformation: false,
    validates: false,
    detail_actions: resource::no_actions,
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
