//! Sign-in, sessions, CSRF, headers, isolation, escaping and secrets.

use std::time::Duration;

use ingest_console::ConsoleSettings;
use reqwest::Method;
use serde_json::json;

use crate::harness::{APP_A, APP_B, KEY_A, KEY_B, Server};

ingest_store::both_backends!(
    another_applications_resources_are_not_found,
    user_strings_are_escaped,
    no_secret_appears_in_any_page,
);

#[tokio::test]
async fn sign_in_sets_a_strict_cookie_and_wrong_keys_are_refused() {
    let server = Server::sqlite_with(ConsoleSettings::default()).await;
    let mut browser = server.browser();
    let anonymous = browser.get("/console/tasks?enabled=true").await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        anonymous.location(),
        "/console/sign-in?next=%2Fconsole%2Ftasks%3Fenabled%3Dtrue"
    );
    let wrong = browser.sign_in(APP_A, "not-the-key").await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong
            .text
            .contains("The application ID or the API key is wrong.")
    );
    assert!(
        !wrong.text.contains("not-the-key"),
        "the typed key is not echoed"
    );
    // Another application's key is wrong for this one.
    assert_eq!(browser.sign_in(APP_A, KEY_B).await.status, 401);
    let signed = browser.sign_in(APP_A, KEY_A).await;
    assert_eq!(signed.status, 303);
    assert_eq!(signed.location(), "/console/");
    let cookie = signed
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("ingestion_console="))
        .unwrap();
    let id = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("ingestion_console=");
    assert_eq!(id.len(), 64, "256 random bits in hex");
    assert!(
        cookie.contains("; HttpOnly")
            && cookie.contains("; SameSite=Strict")
            && cookie.contains("; Path=/console")
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP without secure_cookies"
    );
    let overview = browser.get("/console/").await;
    assert_eq!(overview.status, 200);
    assert!(overview.text.contains("<h1>Overview</h1>"));
}

#[tokio::test]
async fn the_cookie_is_secure_when_configured_or_behind_https() {
    let server = Server::sqlite_with(ConsoleSettings {
        secure_cookies: true,
        ..ConsoleSettings::default()
    })
    .await;
    let signed = server.browser().sign_in(APP_A, KEY_A).await;
    assert!(signed.set_cookies().iter().all(|c| c.contains("; Secure")));
}

#[tokio::test]
async fn sign_in_redirects_only_within_the_console() {
    let server = Server::sqlite_with(ConsoleSettings::default()).await;
    for next in [
        "//evil.example/x",
        "https://evil.example/",
        "/console\\..\\x",
        "/elsewhere",
    ] {
        let mut browser = server.browser();
        browser.get("/console/sign-in").await;
        let page = browser
            .post(
                "/console/sign-in",
                &[("appId", APP_A), ("apiKey", KEY_A), ("next", next)],
            )
            .await;
        assert_eq!(page.location(), "/console/", "next={next}");
    }
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused() {
    let server = Server::sqlite_with(ConsoleSettings::default()).await;
    let mut browser = server.signed_in().await;
    browser.get("/console/tasks").await;
    let body = [("name", "x"), ("input.url", "http://127.0.0.1/x.json")];
    let missing = browser
        .post_raw("/console/sources/new?type=json", &body)
        .await;
    assert_eq!(missing.status, 403, "{}", missing.text);
    let mut wrong = vec![("_csrf", "0".repeat(64))];
    wrong.extend(body.iter().map(|(k, v)| (*k, v.to_string())));
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        browser
            .post_raw("/console/sources/new?type=json", &wrong)
            .await
            .status,
        403
    );
    assert_eq!(browser.post_raw("/console/sign-out", &[]).await.status, 403);
    // Nothing was created by the refused forms.
    let sources = server
        .api((APP_A, KEY_A), Method::GET, "/1/sources", None)
        .await;
    assert_eq!(sources["sources"], json!([]));
    // With the token it goes through.
    let created = browser.post("/console/sources/new?type=json", &body).await;
    assert_eq!(created.status, 303, "{}", created.text);
    // The sign-in form's token is bound to its cookie too.
    let mut other = server.browser();
    let refused = other
        .post_raw(
            "/console/sign-in",
            &[("_csrf", "a"), ("appId", APP_A), ("apiKey", KEY_A)],
        )
        .await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let server = Server::sqlite_with(ConsoleSettings::default()).await;
    let mut browser = server.signed_in().await;
    for path in [
        "/console/",
        "/console/sign-in",
        "/console/runs",
        "/console/nope",
        "/",
    ] {
        let page = browser.get(path).await;
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(page.headers["x-frame-options"], "DENY");
        assert_eq!(page.headers["x-content-type-options"], "nosniff");
    }
    let page = browser.get("/console/").await;
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(!page.text.contains("<script>"), "no inline script");
    assert!(!page.text.contains(" style="), "no inline style");
    let css = browser.get(ingest_console::assets::CSS_URL).await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert_eq!(browser.get("/console/assets/other.js").await.status, 404);
}

#[tokio::test]
async fn sessions_end_when_idle_and_on_sign_out() {
    let server = Server::sqlite_with(ConsoleSettings {
        session_idle: Duration::from_millis(600),
        ..ConsoleSettings::default()
    })
    .await;
    let mut browser = server.signed_in().await;
    for _ in 0..3 {
        // Each request keeps it alive.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(browser.get("/console/").await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let expired = browser.get("/console/").await;
    assert_eq!(expired.status, 303);
    assert!(expired.location().starts_with("/console/sign-in"));

    let mut browser = server.signed_in().await;
    browser.get("/console/").await;
    let cookies = browser.cookies.clone();
    let out = browser.post("/console/sign-out", &[]).await;
    assert_eq!(out.status, 303);
    assert!(
        out.set_cookies()
            .iter()
            .any(|c| c.starts_with("ingestion_console=;") && c.contains("Max-Age=0"))
    );
    // The old cookie is dead on the server, not only in this browser.
    browser.cookies = cookies;
    assert_eq!(browser.get("/console/").await.status, 303);
}

#[tokio::test]
async fn failed_sign_ins_are_rate_limited_per_client() {
    let server = Server::sqlite_with(ConsoleSettings {
        sign_ins_per_minute: 3,
        ..ConsoleSettings::default()
    })
    .await;
    let mut browser = server.browser();
    for _ in 0..3 {
        assert_eq!(browser.sign_in(APP_A, "wrong").await.status, 401);
    }
    let limited = browser.sign_in(APP_A, KEY_A).await;
    assert_eq!(limited.status, 429);
    assert!(limited.headers.contains_key("retry-after"));
    assert!(limited.text.contains("Too many sign-in attempts"));
}

async fn another_applications_resources_are_not_found(server: &Server) {
    let b = (APP_B, KEY_B);
    let auth = server
        .api(
            b,
            Method::POST,
            "/1/authentications",
            Some(json!({"type": "algolia", "name": "b", "input": {"appID": "B", "apiKey": "k"}})),
        )
        .await;
    let source = server
        .api(b, Method::POST, "/1/sources", Some(json!({"type": "json", "name": "b source", "input": {"url": "http://127.0.0.1/b.json"}})))
        .await;
    let destination = server
        .api(b, Method::POST, "/1/destinations", Some(json!({"type": "search", "name": "b", "input": {"indexName": "b"}, "authenticationID": auth["authenticationID"]})))
        .await;
    let task = server
        .api(b, Method::POST, "/2/tasks", Some(json!({"sourceID": source["sourceID"], "destinationID": destination["destinationID"], "action": "replace"})))
        .await;
    let run = server
        .api(
            b,
            Method::POST,
            &format!("/2/tasks/{}/run", task["taskID"].as_str().unwrap()),
            None,
        )
        .await;
    let mut browser = server.signed_in().await;
    let id = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap().to_owned();
    for path in [
        format!("/console/tasks/{}", id(&task, "taskID")),
        format!("/console/tasks/{}/edit", id(&task, "taskID")),
        format!("/console/tasks/{}/delete", id(&task, "taskID")),
        format!("/console/runs/{}", id(&run, "runID")),
        format!("/console/runs/{}/progress", id(&run, "runID")),
        format!("/console/sources/{}", id(&source, "sourceID")),
        format!("/console/sources/{}/edit", id(&source, "sourceID")),
        format!(
            "/console/destinations/{}",
            id(&destination, "destinationID")
        ),
        format!("/console/authentications/{}", id(&auth, "authenticationID")),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 404, "{path}: {}", page.text);
        assert!(!page.text.contains("b source"));
    }
    // Nor can A act on them.
    browser.get("/console/tasks").await;
    let run_b = browser
        .post(&format!("/console/tasks/{}/run", id(&task, "taskID")), &[])
        .await;
    assert_eq!(run_b.status, 404);
    let delete_b = browser
        .post(
            &format!("/console/sources/{}/delete", id(&source, "sourceID")),
            &[],
        )
        .await;
    assert_eq!(delete_b.status, 404);
    // IDs and filters no stored value could hold: not found, or no filter; never a 500.
    assert_eq!(browser.get("/console/tasks/%00").await.status, 404);
    assert_eq!(
        browser.get("/console/runs/abc%00def/progress").await.status,
        404
    );
    assert_eq!(browser.get("/console/runs/not-a-run-id").await.status, 404);
    assert_eq!(browser.get("/console/sources/%C3%A9%00").await.status, 404);
    for filter in [
        "/console/tasks?source=%00x",
        "/console/runs?task=a%00&since=%00",
        "/console/tasks?enabled=%FF%FE",
    ] {
        assert_eq!(browser.get(filter).await.status, 200, "{filter}");
    }
    // And A's lists do not show them.
    assert!(
        !browser
            .get("/console/sources")
            .await
            .text
            .contains("b source")
    );
    let tasks = browser.get("/console/tasks").await;
    assert!(tasks.text.contains("No task yet"));
}

async fn user_strings_are_escaped(server: &Server) {
    let a = (APP_A, KEY_A);
    let hostile = "<script>alert(1)</script>";
    let source = server
        .api(a, Method::POST, "/1/sources", Some(json!({"type": "json", "name": hostile, "input": {"url": "http://127.0.0.1/x.json?a=\"><img src=x>"}})))
        .await;
    let mut browser = server.signed_in().await;
    let id = source["sourceID"].as_str().unwrap();
    for path in [
        "/console/sources".to_owned(),
        format!("/console/sources/{id}"),
        format!("/console/sources/{id}/edit"),
        format!("/console/sources/{id}/delete"),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(
            page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
        assert!(!page.text.contains(hostile), "{path}");
        assert!(!page.text.contains("\"><img"), "{path}");
    }
    // A hostile query string is escaped too.
    let page = browser
        .get("/console/runs?since=%22%3E%3Cscript%3Ex%3C%2Fscript%3E")
        .await;
    assert!(!page.text.contains("\"><script>x"));
}

async fn no_secret_appears_in_any_page(server: &Server) {
    let a = (APP_A, KEY_A);
    let canary = "CANARY-7f3e-secret-value";
    let algolia = server
        .api(a, Method::POST, "/1/authentications", Some(json!({"type": "algolia", "name": "algolia", "input": {"appID": "APPX", "apiKey": canary}})))
        .await;
    let basic = server
        .api(a, Method::POST, "/1/authentications", Some(json!({"type": "basic", "name": "basic", "input": {"username": "u", "password": canary}})))
        .await;
    let secrets = server
        .api(
            a,
            Method::POST,
            "/1/authentications",
            Some(json!({"type": "secrets", "name": "secrets", "input": {"TOKEN": canary}})),
        )
        .await;
    let transformation = server
        .api(a, Method::POST, "/1/transformations", Some(json!({"name": "t", "type": "code", "input": {"code": "async function transform(r, h) { return r; }"}, "authenticationIDs": [secrets["authenticationID"]]})))
        .await;
    let destination = server
        .api(a, Method::POST, "/1/destinations", Some(json!({"type": "search", "name": "d", "input": {"indexName": "i"}, "authenticationID": algolia["authenticationID"], "transformationIDs": [transformation["transformationID"]]})))
        .await;
    let source = server
        .api(a, Method::POST, "/1/sources", Some(json!({"type": "csv", "name": "s", "input": {"url": "http://127.0.0.1/x.csv"}, "authenticationID": basic["authenticationID"]})))
        .await;
    let task = server
        .api(a, Method::POST, "/2/tasks", Some(json!({"sourceID": source["sourceID"], "destinationID": destination["destinationID"], "action": "replace"})))
        .await;
    let run = server
        .api(
            a,
            Method::POST,
            &format!("/2/tasks/{}/run", task["taskID"].as_str().unwrap()),
            None,
        )
        .await;
    let id = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap().to_owned();
    let mut browser = server.signed_in().await;
    let mut paths = vec![
        "/console/".to_owned(),
        "/console/tasks".to_owned(),
        "/console/runs".to_owned(),
        "/console/sources".to_owned(),
        "/console/destinations".to_owned(),
        "/console/authentications".to_owned(),
        "/console/transformations".to_owned(),
        "/console/tasks/new".to_owned(),
        "/console/destinations/new".to_owned(),
        format!("/console/tasks/{}", id(&task, "taskID")),
        format!("/console/tasks/{}/edit", id(&task, "taskID")),
        format!("/console/runs/{}", id(&run, "runID")),
        format!("/console/runs/{}/progress", id(&run, "runID")),
        format!("/console/sources/{}", id(&source, "sourceID")),
        format!(
            "/console/destinations/{}",
            id(&destination, "destinationID")
        ),
        format!(
            "/console/destinations/{}/edit",
            id(&destination, "destinationID")
        ),
        format!(
            "/console/transformations/{}",
            id(&transformation, "transformationID")
        ),
    ];
    for auth in [&algolia, &basic, &secrets] {
        paths.push(format!(
            "/console/authentications/{}",
            id(auth, "authenticationID")
        ));
        paths.push(format!(
            "/console/authentications/{}/edit",
            id(auth, "authenticationID")
        ));
    }
    for path in &paths {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        assert!(!page.text.contains(canary), "{path} shows a secret");
    }
    let shown = browser
        .get(&format!(
            "/console/authentications/{}",
            id(&algolia, "authenticationID")
        ))
        .await;
    assert!(shown.text.contains("set (write-only: never shown)"));
    // Editing without typing the key keeps it: the stored secret still opens.
    browser
        .get(&format!(
            "/console/authentications/{}/edit",
            id(&algolia, "authenticationID")
        ))
        .await;
    let saved = browser
        .post(
            &format!(
                "/console/authentications/{}/edit",
                id(&algolia, "authenticationID")
            ),
            &[
                ("name", "algolia renamed"),
                ("input.appID", "APPX"),
                ("input.apiKey", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let with_secrets = server
        .store
        .authentication_with_secrets(APP_A, &id(&algolia, "authenticationID"))
        .await
        .unwrap();
    match with_secrets.input {
        ingest_model::AuthInput::Algolia { api_key, .. } => assert_eq!(api_key.expose(), canary),
        other => panic!("not an algolia input: {other:?}"),
    }
    assert_eq!(with_secrets.authentication.name, "algolia renamed");
}
