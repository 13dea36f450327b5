//! Secrets are write-only: redacted in responses, hidden from `Debug`, kept across a PATCH that
//! omits them, and exposed only by `to_secret_json`.

use ingest_model::{
    AuthInput, AuthenticationCreate, AuthenticationType, AuthenticationUpdate, SECRET_FIELDS,
    from_slice, from_value,
};
use serde_json::{Value, json};

const SECRET: &str = "s3cr3t-value-9f8e";

fn every_input() -> Vec<(AuthenticationType, Value)> {
    vec![
        (
            AuthenticationType::GoogleServiceAccount,
            json!({"clientEmail": "svc@proj.iam.gserviceaccount.com", "privateKey": SECRET}),
        ),
        (
            AuthenticationType::Basic,
            json!({"username": "user", "password": SECRET}),
        ),
        (AuthenticationType::ApiKey, json!({"key": SECRET})),
        (
            AuthenticationType::OAuth,
            json!({"url": "https://auth.example.com/oauth/token", "client_id": "cid",
                   "client_secret": SECRET}),
        ),
        (
            AuthenticationType::OAuth,
            json!({"url": "https://auth.example.com/oauth/token", "code": SECRET, "scope": "read"}),
        ),
        (
            AuthenticationType::Algolia,
            json!({"appID": "APPID", "apiKey": SECRET}),
        ),
        (
            AuthenticationType::AlgoliaInsights,
            json!({"appID": "APPID", "apiKey": SECRET}),
        ),
        (
            AuthenticationType::Secrets,
            json!({"API_TOKEN": SECRET, "second": SECRET}),
        ),
    ]
}

#[test]
fn redacted_json_nulls_secrets_and_keeps_the_rest() {
    let basic = AuthInput::parse(
        AuthenticationType::Basic,
        &json!({"username": "user", "password": SECRET}),
    )
    .unwrap();
    assert_eq!(
        basic.to_redacted_json(),
        json!({"username": "user", "password": null})
    );

    for (kind, raw) in every_input() {
        let input = AuthInput::parse(kind, &raw).unwrap();
        assert_eq!(input.auth_type(), kind);
        let redacted = input.to_redacted_json();
        let fields = redacted.as_object().unwrap();
        assert_eq!(
            fields.len(),
            raw.as_object().unwrap().len(),
            "every field present"
        );
        let secrets = input.secret_names();
        assert!(!secrets.is_empty(), "{kind}: a secret");
        for (name, value) in fields {
            if secrets.contains(&name.as_str()) {
                assert!(
                    kind == AuthenticationType::Secrets || SECRET_FIELDS.contains(&name.as_str())
                );
                assert_eq!(value, &Value::Null, "{kind}: {name}");
            } else {
                assert_eq!(value, &raw[name], "{kind}: {name} kept");
            }
        }
        assert!(!redacted.to_string().contains(SECRET));
        assert_eq!(input.redacted().as_json(), &redacted);

        // Debug never shows the secret.
        let debug = format!("{input:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(debug.contains("***"), "{debug}");

        // The secret JSON is the input as given, and parses back to the same input.
        assert_eq!(input.to_secret_json(), raw);
        assert_eq!(
            AuthInput::parse(kind, &input.to_secret_json()).unwrap(),
            input
        );
    }
}

#[test]
fn bodies_do_not_leak_secrets_through_debug_or_errors() {
    let body = json!({"type": "oauth", "name": "ct", "input":
        {"url": "https://auth", "client_id": "cid", "client_secret": SECRET}});
    let create: AuthenticationCreate = from_value(&body).unwrap();
    assert!(!format!("{create:?}").contains(SECRET));
    let update: AuthenticationUpdate = from_slice(body.to_string().as_bytes()).unwrap();
    assert!(!format!("{update:?}").contains(SECRET));

    // An error about a secret field names it, never its value.
    let err = from_value::<AuthenticationCreate>(&json!({"type": "basic", "name": "b",
        "input": {"username": "u", "password": SECRET, "extra": SECRET}}))
    .unwrap_err();
    assert_eq!(err.to_string(), "input.extra: unknown field");
    let err = AuthInput::parse(AuthenticationType::ApiKey, &json!({"key": 12345})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "key: invalid type: integer `12345`, expected a string"
    );
}

#[test]
fn a_patch_keeps_secrets_it_omits() {
    let stored = AuthInput::parse(
        AuthenticationType::Basic,
        &json!({"username": "old", "password": SECRET}),
    )
    .unwrap();

    // Omitted or null (a response echoed back): the stored password stays.
    for patch in [
        json!({"input": {"username": "new"}}),
        json!({"input": {"username": "new", "password": null}}),
    ] {
        let update: AuthenticationUpdate = from_value(&patch).unwrap();
        let input = update
            .resolve_input(AuthenticationType::Basic, Some(&stored))
            .unwrap()
            .unwrap();
        assert_eq!(
            input.to_secret_json(),
            json!({"username": "new", "password": SECRET})
        );
    }

    // A new password replaces it.
    let update: AuthenticationUpdate =
        from_value(&json!({"input": {"username": "new", "password": "other"}})).unwrap();
    let input = update
        .resolve_input(AuthenticationType::Basic, Some(&stored))
        .unwrap()
        .unwrap();
    assert_eq!(input.to_secret_json()["password"], "other");

    // Without a stored input of the same type the secret is required.
    let update: AuthenticationUpdate =
        from_value(&json!({"type": "apiKey", "input": {"key": null}})).unwrap();
    assert_eq!(
        update
            .resolve_input(AuthenticationType::Basic, Some(&stored))
            .unwrap_err()
            .to_string(),
        "input.key: missing field"
    );

    // A name-only patch leaves the input alone; a type change needs an input.
    let update: AuthenticationUpdate = from_value(&json!({"name": "renamed"})).unwrap();
    assert_eq!(
        update.resolve_input(AuthenticationType::Basic, Some(&stored)),
        Ok(None)
    );
    let update: AuthenticationUpdate = from_value(&json!({"type": "oauth"})).unwrap();
    assert_eq!(
        update.new_type(AuthenticationType::Basic),
        AuthenticationType::OAuth
    );
    assert_eq!(
        update
            .resolve_input(AuthenticationType::Basic, Some(&stored))
            .unwrap_err()
            .to_string(),
        "input: required when type changes to `oauth`"
    );
    // Non-secret fields stay required.
    let update: AuthenticationUpdate = from_value(&json!({"input": {}})).unwrap();
    assert_eq!(
        update
            .resolve_input(AuthenticationType::Basic, Some(&stored))
            .unwrap_err()
            .to_string(),
        "input.username: missing field"
    );
}

#[test]
fn a_secrets_patch_echoing_nulls_keeps_the_values() {
    let kind = AuthenticationType::Secrets;
    let stored = AuthInput::parse(kind, &json!({"a": SECRET, "b": "old"})).unwrap();
    let echoed =
        AuthInput::parse_update(kind, &json!({"a": null, "b": "new"}), Some(&stored)).unwrap();
    assert_eq!(echoed.to_secret_json(), json!({"a": SECRET, "b": "new"}));
    // A name the stored input does not have cannot be null.
    let err = AuthInput::parse_update(kind, &json!({"c": null}), Some(&stored)).unwrap_err();
    assert_eq!(err.to_string(), "c: must be a string");
}
