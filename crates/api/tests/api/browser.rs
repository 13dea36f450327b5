//! Browser clients (docs/api.md D3): credentials in the query string, CORS for listed origins.

use reqwest::Method;

use crate::common::*;

#[tokio::test]
async fn credentials_in_the_query_string_authenticate_and_never_reach_the_handlers() {
    let server = Server::sqlite().await;
    let path = format!(
        "/1/tasks?itemsPerPage=5&x-algolia-application-id={APP_A}&x-algolia-api-key={KEY_A}"
    );
    // The list's query extractor refuses unknown parameters: it never sees the credentials.
    let listed = Server::send(server.request_as(Method::GET, &path, None, None))
        .await
        .expect(200);
    assert_eq!(listed.body["pagination"]["itemsPerPage"], 5);
    // Alone, too, and any case of the names.
    let path = format!("/1/runs?X-Algolia-Application-Id={APP_A}&X-Algolia-API-Key={KEY_A}");
    Server::send(server.request_as(Method::GET, &path, None, None))
        .await
        .expect(200);
    // A wrong key in the query is refused like one in the headers.
    let path = format!("/1/tasks?x-algolia-application-id={APP_A}&x-algolia-api-key=wrong");
    Server::send(server.request_as(Method::GET, &path, None, None))
        .await
        .expect(403);
    // The headers win over the query.
    let path = format!("/1/tasks?x-algolia-application-id={APP_B}&x-algolia-api-key={KEY_B}");
    let mine = Server::send(server.request(Method::GET, &path))
        .await
        .expect(200);
    assert_eq!(mine.body["tasks"], serde_json::json!([]));
}

#[tokio::test]
async fn cors_answers_listed_origins_only() {
    let server = Server::sqlite_with(ingest_api::ApiConfig {
        cors_origins: vec!["https://shop.example.com".into()],
        ..config()
    })
    .await;
    let preflight = |origin: &'static str| {
        server
            .http
            .request(Method::OPTIONS, format!("{}/1/tasks", server.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-algolia-api-key")
    };
    let allowed = Server::send(preflight("https://shop.example.com")).await;
    assert_eq!(allowed.status, 204, "{}", allowed.text);
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://shop.example.com"
    );
    let methods = allowed.headers["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(
        methods.contains("POST") && methods.contains("PATCH"),
        "{methods}"
    );
    let headers = allowed.headers["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(headers.contains("x-algolia-api-key"), "{headers}");

    let refused = Server::send(preflight("https://evil.example.com")).await;
    assert!(
        !refused.headers.contains_key("access-control-allow-origin"),
        "{:?}",
        refused.headers
    );

    let read = Server::send(
        server
            .request(Method::GET, "/1/tasks")
            .header("origin", "https://shop.example.com"),
    )
    .await
    .expect(200);
    assert_eq!(
        read.headers["access-control-allow-origin"],
        "https://shop.example.com"
    );
    assert!(read.headers.get_all("vary").iter().any(|v| v == "origin"));
}

#[tokio::test]
async fn without_listed_origins_no_cors_header_is_sent() {
    let server = Server::sqlite().await;
    let read = Server::send(
        server
            .request(Method::GET, "/1/tasks")
            .header("origin", "https://shop.example.com"),
    )
    .await
    .expect(200);
    assert!(!read.headers.contains_key("access-control-allow-origin"));
}
