//! A wire-level fake of the commercetools API (`docs/connectors.md` §1 and §4), for tests and
//! benchmarks (feature `testkit`).
//!
//! It serves the client-credentials token endpoint (`POST /oauth/token`, HTTP Basic), the
//! product-projection query of project `p` with the real limits (`limit` ≤ 500, `offset` ≤
//! 10,000: offset paging past 10,000 fails as it does live), keyset `where=id > "…"`,
//! `localeProjection`, `storeProjection` (the store's countries filter prices), `expand`, stores
//! (`/p/stores/key={key}`) and in-store product-selection assignments. Faults can be scripted:
//! tokens that expire after some calls, status answers queued for the next API calls, a 200 with
//! an error body, and an API that ignores the cursor.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The project key the fake serves.
pub const PROJECT: &str = "p";
/// The client id the token endpoint accepts.
pub const CLIENT_ID: &str = "ct-client";
/// The client secret the token endpoint accepts.
pub const CLIENT_SECRET: &str = "ct-secret-value";

/// A store of the fake.
#[derive(Clone, Debug, Default)]
pub struct FakeStore {
    /// Countries whose prices the store projection keeps (all when empty).
    pub countries: Vec<String>,
    /// Product ids assigned through an active product selection (`None`: no selections), with
    /// an optional variant selection (`{"type": "includeOnly", "skus": [...]}`).
    pub selections: Option<Vec<(String, Option<Value>)>>,
}

#[derive(Default)]
struct State {
    products: BTreeMap<String, Value>,
    categories: HashMap<String, Value>,
    stores: HashMap<String, FakeStore>,
    tokens: HashMap<String, u64>,
    issued: u64,
    token_lifetime_calls: Option<u64>,
    queued: VecDeque<ResponseTemplate>,
    error_body_once: bool,
    ignore_cursor: bool,
    api_calls: u64,
    token_calls: u64,
    requests: Vec<String>,
}

/// The fake commercetools API; clones share the same state.
#[derive(Clone, Default)]
pub struct CommercetoolsFake {
    state: Arc<Mutex<State>>,
}

fn invalid_token() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(json!({"statusCode":401,"message":"invalid_token","errors":[{"code":"invalid_token","message":"invalid_token"}],"error":"invalid_token"}))
}

/// An `ErrorResponse` with `status` and `code`.
pub fn error_response(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "statusCode": status, "message": message,
        "errors": [{"code": code, "message": message}]
    }))
}

impl CommercetoolsFake {
    /// A fake with `products` (product projections; ids must be unique).
    pub fn new(products: impl IntoIterator<Item = Value>) -> Self {
        let fake = Self::default();
        {
            let mut state = fake.lock();
            for product in products {
                let id = product["id"].as_str().unwrap_or_default().to_owned();
                state.products.insert(id, product);
            }
        }
        fake
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Generated products: `count` products of `variants` variants each, ids in scrambled order.
    pub fn generated(count: usize, variants: usize) -> Self {
        Self::new((0..count).map(|i| generated_product(i, variants)))
    }

    /// Adds a root category without a key (served expanded as `obj`).
    pub fn category(&self, id: &str, name: Value) -> &Self {
        self.keyed_category(id, None, name, None)
    }

    /// Adds a category with an optional `key`, under `parent` (added before it): its `ancestors`
    /// are the parent's, then the parent (served expanded with `categories[*].ancestors[*]`).
    pub fn keyed_category(
        &self,
        id: &str,
        key: Option<&str>,
        name: Value,
        parent: Option<&str>,
    ) -> &Self {
        let mut state = self.lock();
        let mut ancestors: Vec<Value> = Vec::new();
        if let Some(parent) = parent {
            if let Some(above) = state.categories.get(parent) {
                ancestors.extend(above["ancestors"].as_array().into_iter().flatten().cloned());
            }
            ancestors.push(json!({"typeId": "category", "id": parent}));
        }
        let mut category = json!({"id": id, "name": name, "ancestors": ancestors});
        if let Some(key) = key {
            category["key"] = json!(key);
        }
        state.categories.insert(id.into(), category);
        drop(state);
        self
    }

    /// Adds a store.
    pub fn store(&self, key: &str, store: FakeStore) -> &Self {
        self.lock().stores.insert(key.into(), store);
        self
    }

    /// Tokens stop working after this many API calls each (then the API answers 401).
    pub fn token_lifetime_calls(&self, calls: u64) -> &Self {
        self.lock().token_lifetime_calls = Some(calls);
        self
    }

    /// The next API calls (not token calls) get these answers, in order.
    pub fn queue(&self, response: ResponseTemplate) -> &Self {
        self.lock().queued.push_back(response);
        self
    }

    /// The next product-projection call answers 200 with an `ErrorResponse` body.
    pub fn error_body_once(&self) -> &Self {
        self.lock().error_body_once = true;
        self
    }

    /// The API ignores `where` (a broken cursor: every page is the first).
    pub fn ignore_cursor(&self) -> &Self {
        self.lock().ignore_cursor = true;
        self
    }

    /// API calls answered (token calls excluded).
    pub fn api_calls(&self) -> u64 {
        self.lock().api_calls
    }

    /// Token requests answered.
    pub fn token_calls(&self) -> u64 {
        self.lock().token_calls
    }

    /// The path and query of every API request, in order.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    /// Starts a server answering for this fake.
    pub async fn serve(&self) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(self.clone())
            .mount(&server)
            .await;
        server
    }

    fn token(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.lock();
        state.token_calls += 1;
        let expected = format!(
            "Basic {}",
            base64_encode(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes())
        );
        let basic = request
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok());
        if basic != Some(expected.as_str()) {
            return ResponseTemplate::new(401).set_body_json(json!({
                "statusCode": 401,
                "message": "Please provide valid client credentials using HTTP Basic Authentication.",
                "errors": [{"code": "invalid_client", "message": "Please provide valid client credentials using HTTP Basic Authentication."}],
                "error": "invalid_client",
                "error_description": "Please provide valid client credentials using HTTP Basic Authentication."
            }));
        }
        if !String::from_utf8_lossy(&request.body).contains("grant_type=client_credentials") {
            return error_response(400, "invalid_request", "grant_type is missing");
        }
        state.issued += 1;
        let token = format!("t{}", state.issued);
        state.tokens.insert(token.clone(), 0);
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token, "expires_in": 172800,
            "scope": "view_published_products:p", "token_type": "Bearer"
        }))
    }

    fn api(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.lock();
        state.api_calls += 1;
        let query = request
            .url
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        state
            .requests
            .push(format!("{}{query}", request.url.path()));
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_owned();
        let lifetime = state.token_lifetime_calls;
        match state.tokens.get_mut(&bearer) {
            None => return invalid_token(),
            Some(used) => {
                if lifetime.is_some_and(|lifetime| *used >= lifetime) {
                    return invalid_token();
                }
                *used += 1;
            }
        }
        if let Some(queued) = state.queued.pop_front() {
            return queued;
        }
        let path = request.url.path().trim_start_matches('/').to_owned();
        let Some(rest) = path.strip_prefix(&format!("{PROJECT}/")) else {
            return error_response(404, "ResourceNotFound", "unknown project");
        };
        let pairs: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        if rest == "product-projections" {
            return state.projections(&pairs);
        }
        if let Some(key) = rest.strip_prefix("stores/key=") {
            return match state.stores.get(key) {
                Some(store) => {
                    let selections = store.selections.as_ref().map_or(json!([]), |_| {
                        json!([{"productSelection": {"typeId": "product-selection", "id": "ps1"}, "active": true}])
                    });
                    ResponseTemplate::new(200).set_body_json(json!({
                        "id": format!("store-{key}"), "key": key, "productSelections": selections
                    }))
                }
                None => error_response(
                    404,
                    "ResourceNotFound",
                    &format!("The Resource with key '{key}' was not found."),
                ),
            };
        }
        if let Some(key) = rest
            .strip_prefix("in-store/key=")
            .and_then(|rest| rest.strip_suffix("/product-selection-assignments"))
        {
            return state.assignments(key, &pairs);
        }
        error_response(404, "ResourceNotFound", "no such endpoint in the fake")
    }
}

impl State {
    fn projections(&mut self, pairs: &[(String, String)]) -> ResponseTemplate {
        fn values<'a>(
            pairs: &'a [(String, String)],
            name: &'a str,
        ) -> impl Iterator<Item = &'a str> {
            pairs
                .iter()
                .filter(move |(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }
        let get = |name: &'static str| values(pairs, name);
        let limit: usize = get("limit")
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20);
        let offset: usize = get("offset")
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if limit > 500 {
            return error_response(
                400,
                "InvalidInput",
                "The limit must be less than or equal to 500.",
            );
        }
        if offset > 10_000 {
            return error_response(
                400,
                "InvalidInput",
                "The offset must be less than or equal to 10000.",
            );
        }
        let mut after: Option<String> = None;
        for predicate in get("where") {
            let Some(id) = predicate
                .strip_prefix("id > \"")
                .and_then(|rest| rest.strip_suffix('"'))
            else {
                return error_response(
                    400,
                    "InvalidInput",
                    &format!(
                        "Malformed parameter: where: Syntax error while parsing '{predicate}'."
                    ),
                );
            };
            if !self.ignore_cursor {
                after = Some(id.to_owned());
            }
        }
        if self.error_body_once {
            self.error_body_once = false;
            return ResponseTemplate::new(200).set_body_json(json!({
                "statusCode": 500, "message": "Something went wrong.",
                "errors": [{"code": "General", "message": "Something went wrong."}]
            }));
        }
        let store = match get("storeProjection").next() {
            Some(key) => match self.stores.get(key) {
                Some(store) => Some(store.clone()),
                None => {
                    return error_response(
                        400,
                        "InvalidInput",
                        &format!("Store '{key}' not found."),
                    );
                }
            },
            None => None,
        };
        let locales: Vec<&str> = get("localeProjection").collect();
        let expand: Vec<&str> = get("expand").collect();
        let range = match &after {
            Some(id) => self.products.range::<String, _>((
                std::ops::Bound::Excluded(id.clone()),
                std::ops::Bound::Unbounded,
            )),
            None => self.products.range::<String, _>(..),
        };
        let results: Vec<Value> = range
            .skip(offset)
            .take(limit)
            .map(|(_, product)| {
                let mut product = product.clone();
                if let Some(store) = &store
                    && !store.countries.is_empty()
                {
                    filter_prices(&mut product, &store.countries);
                }
                if !locales.is_empty() {
                    project_locales(&mut product, &locales);
                }
                if expand.contains(&"categories[*]") {
                    let ancestors = expand.contains(&"categories[*].ancestors[*]");
                    self.expand_categories(&mut product, &locales, ancestors);
                }
                if expand.contains(&"productType") {
                    product["productType"]["obj"] = json!({"name": "clothing"});
                }
                product
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "limit": limit, "offset": offset, "count": results.len(), "results": results
        }))
    }

    fn expand_categories(&self, product: &mut Value, locales: &[&str], ancestors: bool) {
        let Some(categories) = product["categories"].as_array_mut() else {
            return;
        };
        let expanded = |id: &str| {
            let mut obj = self.categories.get(id)?.clone();
            if !locales.is_empty() {
                project_locales(&mut obj, locales);
            }
            Some(obj)
        };
        for category in categories {
            let id = category["id"].as_str().unwrap_or_default();
            let Some(mut obj) = expanded(id) else {
                continue;
            };
            if ancestors && let Some(list) = obj["ancestors"].as_array_mut() {
                for ancestor in list {
                    let id = ancestor["id"].as_str().unwrap_or_default().to_owned();
                    if let Some(above) = expanded(&id) {
                        ancestor["obj"] = above;
                    }
                }
            }
            category["obj"] = obj;
        }
    }

    fn assignments(&self, key: &str, pairs: &[(String, String)]) -> ResponseTemplate {
        let Some(store) = self.stores.get(key) else {
            return error_response(404, "ResourceNotFound", "unknown store");
        };
        let predicate = pairs
            .iter()
            .find(|(k, _)| k == "where")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        let bounds: Vec<&str> = predicate.split('"').skip(1).step_by(2).collect();
        let [low, high] = bounds.as_slice() else {
            return error_response(
                400,
                "InvalidInput",
                &format!("Malformed parameter: where: '{predicate}'"),
            );
        };
        let results: Vec<Value> = store
            .selections
            .iter()
            .flatten()
            .filter(|(id, _)| id.as_str() >= *low && id.as_str() <= *high)
            .map(|(id, variants)| {
                let mut assignment = json!({
                    "product": {"typeId": "product", "id": id},
                    "productSelection": {"typeId": "product-selection", "id": "ps1"}
                });
                if let Some(variants) = variants {
                    assignment["variantSelection"] = variants.clone();
                }
                assignment
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "limit": 500, "offset": 0, "count": results.len(), "results": results
        }))
    }
}

impl Respond for CommercetoolsFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.url.path() == "/oauth/token" {
            self.token(request)
        } else {
            self.api(request)
        }
    }
}

fn filter_prices(product: &mut Value, countries: &[String]) {
    let keep = |prices: &mut Value| {
        if let Some(prices) = prices.as_array_mut() {
            prices.retain(|price| {
                price["country"]
                    .as_str()
                    .is_none_or(|country| countries.iter().any(|c| c == country))
            });
        }
    };
    keep(&mut product["masterVariant"]["prices"]);
    if let Some(others) = product.get_mut("variants").and_then(Value::as_array_mut) {
        for variant in others {
            keep(&mut variant["prices"]);
        }
    }
}

/// Strips every locale not in `locales` from every LocalizedString inside `value`.
fn project_locales(value: &mut Value, locales: &[&str]) {
    match value {
        Value::Object(map) => {
            let localized = !map.is_empty()
                && map
                    .iter()
                    .all(|(key, value)| ingest_model::is_valid_locale(key) && value.is_string());
            if localized {
                map.retain(|key, _| locales.contains(&key.as_str()));
            } else {
                map.values_mut()
                    .for_each(|inner| project_locales(inner, locales));
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| project_locales(item, locales)),
        _ => {}
    }
}

/// A generated product projection: id scrambled so insertion order is not id order.
pub fn generated_product(i: usize, variants: usize) -> Value {
    let scrambled = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16;
    let id = format!(
        "{:08x}-{:04x}-4000-8000-{:012x}",
        scrambled >> 16,
        scrambled & 0xffff,
        i
    );
    let variant = |n: usize| {
        json!({
            "id": n, "sku": format!("SKU-{i}-{n}"), "key": format!("k-{i}-{n}"),
            "prices": [
                {"id": format!("pr-{i}-{n}-eur"), "value": {"type": "centPrecision", "currencyCode": "EUR", "centAmount": 1000 + i % 500, "fractionDigits": 2}, "country": "DE"},
                {"id": format!("pr-{i}-{n}-usd"), "value": {"type": "centPrecision", "currencyCode": "USD", "centAmount": 1100 + i % 500, "fractionDigits": 2}, "country": "US"}
            ],
            "images": [{"url": format!("https://images.example.com/{i}-{n}.jpg"), "dimensions": {"w": 800, "h": 800}}],
            "attributes": [
                {"name": "color", "value": {"key": "red", "label": {"en": "Red", "de": "Rot"}}},
                {"name": "size", "value": "M"}
            ],
            "availability": {"isOnStock": !i.is_multiple_of(3), "availableQuantity": i % 17}
        })
    };
    json!({
        "id": id, "version": 1, "key": format!("product-{i}"),
        "productType": {"typeId": "product-type", "id": "pt-1"},
        "name": {"en": format!("Product {i}"), "de": format!("Produkt {i}")},
        "description": {"en": "A fine product.", "de": "Ein feines Produkt."},
        "slug": {"en": format!("product-{i}"), "de": format!("produkt-{i}")},
        "categories": [{"typeId": "category", "id": "cat-1"}],
        "masterVariant": variant(1),
        "variants": (2..=variants).map(variant).collect::<Vec<_>>(),
        "createdAt": "2024-01-01T00:00:00.000Z", "lastModifiedAt": "2024-06-01T00:00:00.000Z"
    })
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
