//! A wire-level fake of the BigCommerce v3 API (`docs/connectors.md` §2 and §4), for tests and
//! benchmarks (feature `testkit`).
//!
//! It serves store [`STORE`]'s catalog (`/v3/catalog/products` with `page`/`limit` ≤ 250,
//! `id:in`, `channel_id:in`), category trees, brands and `POST /v3/pricing/products`, checks
//! `X-Auth-Token`, and sends the four `X-Rate-Limit-*` headers. With [`BigCommerceFake::quota`]
//! it enforces a request quota per window as the platform does (429 over it); scripted answers
//! can be queued, and a broken API that ignores `page` can be simulated.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The store hash the fake serves.
pub const STORE: &str = "abc123";
/// The access token it accepts.
pub const TOKEN: &str = "bc-access-token";

#[derive(Default)]
struct State {
    products: Vec<Value>,
    categories: Vec<Value>,
    brands: Vec<Value>,
    /// Products not in channel 1.
    outside_channel: Vec<u64>,
    queued: VecDeque<ResponseTemplate>,
    quota: Option<(u64, Duration)>,
    window: Option<(Instant, u64)>,
    ignore_page: bool,
    calls: u64,
    throttled: u64,
    requests: Vec<String>,
}

/// The fake BigCommerce API; clones share the same state.
#[derive(Clone, Default)]
pub struct BigCommerceFake {
    state: Arc<Mutex<State>>,
}

/// A v3 error body.
pub fn error_body(status: u16, title: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "status": status, "title": title,
        "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
    }))
}

impl BigCommerceFake {
    /// A fake serving `products`, `categories` (tree items) and `brands`.
    pub fn new(products: Vec<Value>, categories: Vec<Value>, brands: Vec<Value>) -> Self {
        let fake = Self::default();
        {
            let mut state = fake.lock();
            state.products = products;
            state
                .products
                .sort_by_key(|product| product["id"].as_u64().unwrap_or_default());
            state.categories = categories;
            state.brands = brands;
        }
        fake
    }

    /// `count` generated products (ids from 100), in a three-level category tree with brands.
    pub fn generated(count: usize) -> Self {
        let categories = vec![
            json!({"category_id": 20, "parent_id": 0, "tree_id": 1, "name": "Shop", "is_visible": true}),
            json!({"category_id": 23, "parent_id": 20, "tree_id": 1, "name": "Books", "is_visible": true}),
            json!({"category_id": 24, "parent_id": 23, "tree_id": 1, "name": "Magazines", "is_visible": true}),
        ];
        let brands = vec![
            json!({"id": 37, "name": "Smith"}),
            json!({"id": 38, "name": "Jones"}),
        ];
        Self::new(
            (0..count).map(generated_product).collect(),
            categories,
            brands,
        )
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Enforces `requests` per `window` (the platform's 150 per 30 s, or a scaled copy).
    pub fn quota(&self, requests: u64, window: Duration) -> &Self {
        self.lock().quota = Some((requests, window));
        self
    }

    /// The next calls get these answers, in order (quota headers added).
    pub fn queue(&self, response: ResponseTemplate) -> &Self {
        self.lock().queued.push_back(response);
        self
    }

    /// Takes product `id` out of channel 1.
    pub fn outside_channel(&self, id: u64) -> &Self {
        self.lock().outside_channel.push(id);
        self
    }

    /// The API answers every product page with the first page's products (a broken `page`).
    pub fn ignore_page(&self) -> &Self {
        self.lock().ignore_page = true;
        self
    }

    /// Calls answered (429s included).
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    /// 429s the quota produced (scripted ones excluded).
    pub fn throttled(&self) -> u64 {
        self.lock().throttled
    }

    /// `METHOD path?query [body]` of every request, in order.
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
}

impl State {
    /// Counts a request against the quota: the rate-limit headers, or `None` when over it.
    fn quota_headers(&mut self) -> (Vec<(&'static str, String)>, bool) {
        let Some((quota, window)) = self.quota else {
            return (
                vec![
                    ("x-rate-limit-time-window-ms", "30000".into()),
                    ("x-rate-limit-time-reset-ms", "30000".into()),
                    ("x-rate-limit-requests-quota", "1000000".into()),
                    ("x-rate-limit-requests-left", "999999".into()),
                ],
                true,
            );
        };
        let now = Instant::now();
        let (start, used) = match self.window {
            Some((start, used)) if now < start + window => (start, used),
            _ => (now, 0),
        };
        let allowed = used < quota;
        let used = if allowed { used + 1 } else { used };
        self.window = Some((start, used));
        let reset = (start + window).saturating_duration_since(now);
        (
            vec![
                (
                    "x-rate-limit-time-window-ms",
                    window.as_millis().to_string(),
                ),
                (
                    "x-rate-limit-time-reset-ms",
                    reset.as_millis().max(1).to_string(),
                ),
                ("x-rate-limit-requests-quota", quota.to_string()),
                ("x-rate-limit-requests-left", (quota - used).to_string()),
            ],
            allowed,
        )
    }

    fn route(&mut self, request: &Request) -> ResponseTemplate {
        let prefix = format!("/stores/{STORE}/v3/");
        let Some(path) = request.url.path().strip_prefix(&prefix) else {
            return error_body(404, "Not Found");
        };
        let pairs: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let page: usize = pairs.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let limit: usize = pairs
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(50);
        if limit > 250 {
            return error_body(413, "The limit is too large");
        }
        let id_in = |key: &str| -> Option<Vec<u64>> {
            pairs
                .get(key)
                .map(|ids| ids.split(',').filter_map(|id| id.parse().ok()).collect())
        };
        match (request.method.as_str(), path) {
            ("GET", "catalog/products") => {
                let ids = id_in("id:in");
                let channel = id_in("channel_id:in");
                let outside = &self.outside_channel;
                let selected: Vec<&Value> = self
                    .products
                    .iter()
                    .filter(|p| {
                        ids.as_ref()
                            .is_none_or(|ids| ids.contains(&p["id"].as_u64().unwrap_or_default()))
                    })
                    .filter(|p| {
                        channel.as_ref().is_none_or(|channels| {
                            channels.contains(&1)
                                && !outside.contains(&p["id"].as_u64().unwrap_or_default())
                        })
                    })
                    .collect();
                let served = if self.ignore_page { 1 } else { page };
                paged(&selected, served, page, limit)
            }
            ("GET", "catalog/trees/categories") => {
                let ids = id_in("category_id:in");
                let selected: Vec<&Value> = self
                    .categories
                    .iter()
                    .filter(|c| {
                        ids.as_ref().is_none_or(|ids| {
                            ids.contains(&c["category_id"].as_u64().unwrap_or_default())
                        })
                    })
                    .collect();
                paged(&selected, page, page, limit)
            }
            ("GET", "catalog/brands") => {
                let ids = id_in("id:in");
                let selected: Vec<&Value> = self
                    .brands
                    .iter()
                    .filter(|b| {
                        ids.as_ref()
                            .is_none_or(|ids| ids.contains(&b["id"].as_u64().unwrap_or_default()))
                    })
                    .collect();
                paged(&selected, page, page, limit)
            }
            ("POST", "pricing/products") => pricing(request),
            _ => error_body(404, "Not Found"),
        }
    }
}

/// A page of `items` (the `served` page's content, labelled `page`) with `meta.pagination`.
fn paged(items: &[&Value], served: usize, page: usize, limit: usize) -> ResponseTemplate {
    let total_pages = items.len().div_ceil(limit.max(1)).max(1);
    let data: Vec<&Value> = items
        .iter()
        .skip((served - 1) * limit)
        .take(limit)
        .copied()
        .collect();
    let mut links = json!({"current": format!("?page={page}&limit={limit}")});
    if page > 1 {
        links["previous"] = json!(format!("?page={}&limit={limit}", page - 1));
    }
    if page < total_pages {
        links["next"] = json!(format!("?page={}&limit={limit}", page + 1));
    }
    ResponseTemplate::new(200).set_body_json(json!({
        "data": data,
        "meta": {"pagination": {
            "total": items.len(), "count": data.len(), "per_page": limit,
            "current_page": page, "total_pages": total_pages, "links": links
        }}
    }))
}

/// Channel prices: the variant's base price times a per-currency rate.
fn pricing(request: &Request) -> ResponseTemplate {
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return error_body(400, "Input is invalid");
    };
    let rate = match body["currency_code"].as_str() {
        Some("USD") => 1.0,
        Some("EUR") => 0.9,
        Some("GBP") => 0.8,
        _ => return error_body(422, "Unknown currency"),
    };
    let money = |amount: f64| {
        let amount = (amount * 100.0).round() / 100.0;
        json!({"as_entered": amount, "entered_inclusive": false, "tax_exclusive": amount, "tax_inclusive": amount})
    };
    let data: Vec<Value> = body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let base = 10.0 + (item["variant_id"].as_u64().unwrap_or_default() % 50) as f64;
            json!({
                "product_id": item["product_id"], "variant_id": item["variant_id"], "options": [],
                "price": money(base * rate), "sale_price": money(base * rate * 0.9),
                "retail_price": money(base * rate * 1.2), "calculated_price": money(base * rate * 0.9),
            })
        })
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({"data": data, "meta": {}}))
}

impl Respond for BigCommerceFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.lock();
        state.calls += 1;
        let query = request
            .url
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        let body = String::from_utf8_lossy(&request.body).into_owned();
        state.requests.push(format!(
            "{} {}{query} {body}",
            request.method,
            request.url.path()
        ));
        let token = request
            .headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok());
        let accept = request.headers.get("accept").and_then(|v| v.to_str().ok());
        if token != Some(TOKEN) || accept != Some("application/json") {
            return error_body(401, "Unauthorized");
        }
        let (headers, allowed) = state.quota_headers();
        let response = if !allowed {
            state.throttled += 1;
            error_body(429, "Too many requests")
        } else if let Some(queued) = state.queued.pop_front() {
            return queued;
        } else {
            state.route(request)
        };
        headers
            .into_iter()
            .fold(response, |response, (name, value)| {
                response.insert_header(name, value.as_str())
            })
    }
}

/// A generated product (id `100 + i`) with two variants, images and a custom field.
pub fn generated_product(i: usize) -> Value {
    let id = 100 + i as u64;
    let variant = |n: u64| {
        json!({
            "id": id * 10 + n, "product_id": id, "sku": format!("SKU-{id}-{n}"), "sku_id": id * 10 + n,
            "price": null, "calculated_price": 34.65, "sale_price": null, "retail_price": null,
            "inventory_level": (id + n) % 4, "purchasing_disabled": false, "image_url": "",
            "upc": "", "mpn": "", "gtin": "",
            "option_values": [{"id": 146 + n, "label": if n == 1 { "Print" } else { "Digital" }, "option_id": 151, "option_display_name": "Edition"}]
        })
    };
    json!({
        "id": id, "name": format!("Product {id}"), "type": "physical", "sku": format!("SKU-{id}"),
        "description": "<p>Quarterly magazine.</p>", "price": 37.0, "sale_price": 34.65,
        "retail_price": 0, "calculated_price": 34.65, "categories": [24], "brand_id": 37 + (id % 2),
        "inventory_level": id % 5, "inventory_tracking": "variant", "is_visible": true,
        "is_featured": false, "availability": "available", "condition": "New",
        "search_keywords": "journal", "custom_url": {"url": format!("/product-{id}/"), "is_customized": false},
        "date_created": "2015-07-03T20:55:30+00:00", "date_modified": "2024-11-22T10:26:41+00:00",
        "base_variant_id": id * 10 + 1,
        "images": [{"id": id, "product_id": id, "is_thumbnail": true, "sort_order": 0, "description": "",
                    "url_zoom": format!("https://cdn.example.com/{id}/z.jpg"),
                    "url_standard": format!("https://cdn.example.com/{id}/s.jpg"),
                    "url_thumbnail": format!("https://cdn.example.com/{id}/t.jpg")}],
        "custom_fields": [{"id": 6, "name": "ISBN", "value": format!("978{id:010}")}],
        "variants": [variant(1), variant(2)]
    })
}
