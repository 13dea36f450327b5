//! The BigCommerce connector: a store's catalog, one record per product (see `record.rs` for the
//! shape and `docs/connectors.md` 6 for the rules).
//!
//! **Reading.** `{api_base}/stores/{storeHash}/v3/catalog/products?include=variants,images,
//! custom_fields,primary_image&limit=250&page=N` (with `channel_id:in={id}` for a channel),
//! page after page until `current_page` reaches `total_pages`. A page whose `current_page` is
//! not the one asked, or whose products are the previous page's, fails the run at once, as
//! does passing [`MAX_PAGES`]. Before the first product page, category and brand names are read
//! once (`/v3/catalog/trees/categories`, `/v3/catalog/brands`, all pages). With channel
//! currencies, each product page is followed by one `POST /v3/pricing/products` per currency
//! (≤ [`PRICING_ITEMS`] variants per call) for the channel's prices.
//!
//! **Auth and quota.** An `apiKey` authentication: the store's access token, sent as
//! `X-Auth-Token` (requests with it follow no redirect). Throttling is in `client.rs`.
//!
//! **Subscription runs.** When the run's
//! [`trigger_event`](crate::SourceContext::trigger_event) is a product webhook payload (already
//! verified by the receiver with [`webhook::verify_webhook`]), the run reads only that product
//! (`id:in={id}`, the channel filter applied, names looked up for it alone) or, for
//! `store/product/deleted` or a product no longer found in the channel, yields
//! [`Record::deletion`] of its objectID. A payload whose `producer` names another store fails
//! the run. A trigger that is not a BigCommerce product event runs the full catalog.

mod client;
#[cfg(feature = "testkit")]
pub mod fake;
mod record;
pub mod webhook;

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use ingest_core::{Record, RecordStream, SourceError, SourceResult};
use ingest_model::{AuthInput, SourceBigCommerce};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use self::client::BcClient;
use self::record::{Names, VariantPrices, product_record};
use self::webhook::ProductEvent;
use crate::http::display_url;
use crate::http::paged::{Pages, RepeatGuard, page_stream};
use crate::source::{ConfigError, Source, SourceContext};

pub use self::client::MAX_THROTTLED;

/// Products asked per page (the API's maximum).
pub const PAGE_LIMIT: usize = 250;
/// Pages read at most, per collection (25 million products).
pub const MAX_PAGES: u64 = 100_000;
/// Variants priced per pricing call.
pub const PRICING_ITEMS: usize = 250;
const INCLUDE: &str = "variants,images,custom_fields,primary_image";

/// The source of a BigCommerce input.
pub(crate) fn build(
    input: &SourceBigCommerce,
    auth: Option<&AuthInput>,
    context: &SourceContext,
) -> Result<Box<dyn Source>, ConfigError> {
    let Some(AuthInput::ApiKey { key }) = auth else {
        return Err(ConfigError::new(
            "authentication.type",
            "a bigcommerce source needs an `apiKey` authentication (the store's access token)",
        ));
    };
    if !input
        .store_hash
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    {
        return Err(ConfigError::new(
            "input.storeHash",
            "must hold only letters, digits, `-` and `_`",
        ));
    }
    let mut base = Url::parse(&context.endpoints.bigcommerce_api_base).map_err(|error| {
        ConfigError::new("bigcommerce.api_base", format!("not a valid URL: {error}"))
    })?;
    if base.cannot_be_a_base() {
        return Err(ConfigError::new(
            "bigcommerce.api_base",
            "must be an http or https URL",
        ));
    }
    if let Ok(mut segments) = base.path_segments_mut() {
        segments
            .pop_if_empty()
            .push("stores")
            .push(&input.store_hash)
            .push("");
    }
    let currencies = input
        .channel
        .as_ref()
        .and_then(|channel| channel.currencies.clone())
        .unwrap_or_default()
        .iter()
        .map(|currency| currency.to_ascii_uppercase())
        .collect();
    let event = match &context.trigger_event {
        Some(payload) => ProductEvent::from_payload(payload)
            .map_err(|error| ConfigError::new("trigger", error.to_string()))?,
        None => None,
    };
    Ok(Box::new(BigCommerceSource {
        client: Arc::new(BcClient::new(
            context.http.clone(),
            context.events.clone(),
            base,
            key.clone(),
        )),
        store_hash: input.store_hash.clone(),
        channel: input.channel.as_ref().map(|channel| channel.id),
        currencies,
        event,
        max_record_bytes: context.max_record_bytes,
    }))
}

struct BigCommerceSource {
    client: Arc<BcClient>,
    store_hash: String,
    channel: Option<u64>,
    currencies: Vec<String>,
    event: Option<ProductEvent>,
    max_record_bytes: usize,
}

impl fmt::Debug for BigCommerceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BigCommerceSource")
            .field("client", &self.client)
            .field("channel", &self.channel)
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

impl Source for BigCommerceSource {
    fn records(&self) -> RecordStream {
        page_stream(Scan {
            client: self.client.clone(),
            store_hash: self.store_hash.clone(),
            channel: self.channel,
            currencies: self.currencies.clone(),
            event: self.event.clone(),
            max_record_bytes: self.max_record_bytes,
            names: None,
            page: 0,
            done: false,
            guard: RepeatGuard::default(),
        })
    }

    fn describe(&self) -> String {
        let url = display_url(&self.client.url("v3/catalog/products", &[]));
        match &self.event {
            Some(event) => format!("{url} (product {} from a webhook)", event.product_id),
            None => url,
        }
    }
}

struct Scan {
    client: Arc<BcClient>,
    store_hash: String,
    channel: Option<u64>,
    currencies: Vec<String>,
    event: Option<ProductEvent>,
    max_record_bytes: usize,
    names: Option<Names>,
    page: u64,
    done: bool,
    guard: RepeatGuard,
}

#[derive(Deserialize)]
struct Listing {
    data: Vec<Value>,
    #[serde(default)]
    meta: Meta,
}

#[derive(Default, Deserialize)]
struct Meta {
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct Pagination {
    current_page: u64,
    total_pages: u64,
}

impl Pages for Scan {
    async fn next_page(&mut self) -> Result<Option<Vec<SourceResult>>, SourceError> {
        if self.done {
            return Ok(None);
        }
        if let Some(event) = self.event.clone() {
            self.done = true;
            return self.webhook_run(&event).await.map(Some);
        }
        if self.names.is_none() {
            self.names = Some(self.names(None, None).await?);
        }
        self.page += 1;
        let page = self.page.to_string();
        let limit = PAGE_LIMIT.to_string();
        let channel = self.channel.map(|id| id.to_string());
        let mut query = vec![
            ("include", INCLUDE),
            ("limit", limit.as_str()),
            ("page", page.as_str()),
        ];
        if let Some(channel) = &channel {
            query.push(("channel_id:in", channel));
        }
        let (products, last) = self
            .listing("v3/catalog/products", &query, self.page, true)
            .await?;
        if last {
            self.done = true;
        }
        self.records(&products, self.page).await.map(Some)
    }
}

impl Scan {
    /// One page of a collection: its items, and whether it is the last page. Checks that the
    /// API answered the page asked and not the previous one again.
    async fn listing(
        &mut self,
        path: &str,
        query: &[(&str, &str)],
        page: u64,
        guarded: bool,
    ) -> Result<(Vec<Value>, bool), SourceError> {
        let url = self.client.url(path, query);
        let place = format!("bigcommerce {}", display_url(&url));
        if page > MAX_PAGES {
            return Err(SourceError::new(format!(
                "{place}: more than {MAX_PAGES} pages; stopping"
            )));
        }
        let value = self.client.call(Method::GET, &url, None).await?;
        let listing: Listing = serde_json::from_value(value).map_err(|error| {
            SourceError::new(format!("{place} answered an unexpected shape: {error}"))
        })?;
        let last = match &listing.meta.pagination {
            Some(pagination) => {
                if pagination.current_page != page {
                    return Err(SourceError::new(format!(
                        "{place}: asked for page {page}, the API answered page {}; stopping rather than looping",
                        pagination.current_page
                    )));
                }
                pagination.current_page >= pagination.total_pages
            }
            None => listing.data.len() < PAGE_LIMIT,
        };
        if guarded {
            let id = |item: Option<&Value>| {
                item.and_then(|item| item.get("id"))
                    .map(Value::to_string)
                    .unwrap_or_default()
            };
            if !listing.data.is_empty() {
                self.guard
                    .check(&id(listing.data.first()), &id(listing.data.last()), &place)?;
            }
        }
        let last = last || listing.data.is_empty();
        Ok((listing.data, last))
    }

    /// Category and brand names: all of them (a full run), or only `categories` and `brands`
    /// and the categories' ancestors (a one-product run).
    async fn names(
        &mut self,
        categories: Option<Vec<u64>>,
        brands: Option<Vec<u64>>,
    ) -> Result<Names, SourceError> {
        let mut names = Names::default();
        let mut wanted = categories;
        for _ in 0..16 {
            let filter = wanted.as_ref().map(|ids| join(ids));
            for item in self
                .all(
                    "v3/catalog/trees/categories",
                    filter.as_deref().map(|f| ("category_id:in", f)),
                )
                .await?
            {
                if let (Some(id), Some(name)) = (
                    item.get("category_id")
                        .or_else(|| item.get("id"))
                        .and_then(Value::as_u64),
                    item.get("name").and_then(Value::as_str),
                ) {
                    let parent = item.get("parent_id").and_then(Value::as_u64).unwrap_or(0);
                    names.categories.insert(id, (name.to_owned(), parent));
                }
            }
            let Some(_) = wanted else { break };
            let missing: HashSet<u64> = names
                .categories
                .values()
                .map(|(_, parent)| *parent)
                .filter(|parent| *parent != 0 && !names.categories.contains_key(parent))
                .collect();
            if missing.is_empty() {
                break;
            }
            wanted = Some(missing.into_iter().collect());
        }
        if brands.as_ref().is_none_or(|ids| !ids.is_empty()) {
            let filter = brands.as_ref().map(|ids| join(ids));
            for item in self
                .all("v3/catalog/brands", filter.as_deref().map(|f| ("id:in", f)))
                .await?
            {
                if let (Some(id), Some(name)) = (
                    item.get("id").and_then(Value::as_u64),
                    item.get("name").and_then(Value::as_str),
                ) {
                    names.brands.insert(id, name.to_owned());
                }
            }
        }
        Ok(names)
    }

    /// Every item of a small collection (categories, brands), page by page.
    async fn all(
        &mut self,
        path: &str,
        filter: Option<(&str, &str)>,
    ) -> Result<Vec<Value>, SourceError> {
        if filter.is_some_and(|(_, ids)| ids.is_empty()) {
            return Ok(Vec::new());
        }
        let mut items = Vec::new();
        let limit = PAGE_LIMIT.to_string();
        for page in 1.. {
            let page_text = page.to_string();
            let mut query = vec![("limit", limit.as_str()), ("page", page_text.as_str())];
            query.extend(filter);
            let (data, last) = self.listing(path, &query, page, false).await?;
            items.extend(data);
            if last {
                break;
            }
        }
        Ok(items)
    }

    /// The channel prices of `products`' variants, per currency.
    async fn prices(&self, products: &[Value]) -> Result<VariantPrices, SourceError> {
        let mut prices = VariantPrices::new();
        let (Some(channel), false) = (self.channel, self.currencies.is_empty()) else {
            return Ok(prices);
        };
        let items: Vec<Value> = products
            .iter()
            .flat_map(|product| {
                let product_id = product.get("id").cloned();
                product
                    .get("variants")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(move |variant| {
                        Some(json!({"product_id": product_id.clone()?, "variant_id": variant.get("id")?}))
                    })
            })
            .collect();
        let url = self.client.url("v3/pricing/products", &[]);
        for currency in &self.currencies {
            for chunk in items.chunks(PRICING_ITEMS) {
                let body = json!({
                    "channel_id": channel, "currency_code": currency,
                    "customer_group_id": 0, "items": chunk,
                });
                let body = Bytes::from(body.to_string());
                let answer = self.client.call(Method::POST, &url, Some(body)).await?;
                for item in answer
                    .get("data")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(variant) = item.get("variant_id").and_then(Value::as_u64) {
                        prices
                            .entry(variant)
                            .or_default()
                            .insert(currency.clone(), item.clone());
                    }
                }
            }
        }
        Ok(prices)
    }

    async fn records(
        &self,
        products: &[Value],
        page: u64,
    ) -> Result<Vec<SourceResult>, SourceError> {
        let prices = self.prices(products).await?;
        let names = self.names.as_ref();
        let empty = Names::default();
        Ok(products
            .iter()
            .enumerate()
            .map(|(offset, product)| {
                product_record(
                    product,
                    names.unwrap_or(&empty),
                    &prices,
                    !self.currencies.is_empty() && self.channel.is_some(),
                    page,
                    offset as u64,
                    self.max_record_bytes,
                )
            })
            .collect())
    }

    /// A subscription run: the one product of `event`, or its deletion.
    async fn webhook_run(
        &mut self,
        event: &ProductEvent,
    ) -> Result<Vec<SourceResult>, SourceError> {
        let expected = format!("stores/{}", self.store_hash);
        if let Some(producer) = &event.producer
            && *producer != expected
        {
            return Err(SourceError::new(format!(
                "bigcommerce webhook: the event comes from `{producer}`, not this source's store `{expected}`"
            )));
        }
        let deletion = || vec![Ok(Record::deletion(event.product_id.to_string().into()))];
        if event.deleted {
            return Ok(deletion());
        }
        let id = event.product_id.to_string();
        let channel = self.channel.map(|id| id.to_string());
        let mut query = vec![("include", INCLUDE), ("id:in", id.as_str()), ("page", "1")];
        if let Some(channel) = &channel {
            query.push(("channel_id:in", channel));
        }
        let (products, _) = self
            .listing("v3/catalog/products", &query, 1, false)
            .await?;
        let Some(product) = products
            .into_iter()
            .find(|p| p.get("id").and_then(Value::as_u64) == Some(event.product_id))
        else {
            // Gone since, or not (any more) in the channel: its record goes.
            return Ok(deletion());
        };
        let categories = product
            .get("categories")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let brands = product
            .get("brand_id")
            .and_then(Value::as_u64)
            .filter(|id| *id > 0)
            .into_iter()
            .collect();
        self.names = Some(self.names(Some(categories), Some(brands)).await?);
        self.records(std::slice::from_ref(&product), 1).await
    }
}

fn join(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}
