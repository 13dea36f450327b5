//! The commercetools connector: published product projections of a project, one record per
//! variant (see `record.rs` for the shape and `docs/connectors.md` 5 for the rules).
//!
//! **Reading.** `GET {url}/{projectKey}/product-projections` with keyset pagination: `sort=id
//! asc`, `limit=500`, `withTotal=false`, and from the second page `where=id > "{last id}"`. No
//! `offset` is ever sent, so there is no 10,000-item ceiling; a page shorter than the limit ends
//! the pass. `expand=productType`, `expand=categories[*]` and `expand=categories[*].ancestors[*]`
//! bring the type's name and the categories with their paths (`categories.rs`). A page whose first id is not after the previous page's last id (an API ignoring the
//! cursor) fails the run at once, as does passing [`MAX_PAGES`].
//!
//! **Auth.** An `oauth` authentication: its `url` is the token endpoint, its client id and
//! secret go in HTTP Basic (`grant_type=client_credentials`). The token is cached until shortly
//! before `expires_in` and renewed once when the API answers 401 (then the page is asked again).
//!
//! **Stores.** With `storeKeys`, one pass per store, each with `storeProjection={storeKey}` (the
//! store's locales, prices and inventory channels). `storeProjection` does not apply the store's
//! product selections: when the store (`GET /{pk}/stores/key={storeKey}`) has an active one, each
//! page's products are checked against `GET /{pk}/in-store/key={storeKey}/product-selection-
//! assignments` (for the page's id range), keeping only assigned products and, when an
//! assignment has a variant selection or exclusion, only the variants it includes. Store records
//! carry `storeKey` and objectIDs `{storeKey}.{productID}.{variantID}`.
//!
//! **Locales.** `locales` is sent as `localeProjection`. For an `indexName` destination
//! (reached through [`crate::build_source`]) localized fields stay maps `{locale:
//! value}`. For an `indexPrefix` destination the engine calls [`locale_sources`]: one source per
//! locale, each reading with `localeProjection={locale}` and reducing localized fields to that
//! locale's value; the engine runs one pass per entry into `{indexPrefix}{locale}` (`docs/api.md` C16).
//! The per-locale sources share one client, so one token serves them all.

mod categories;
mod client;
#[cfg(feature = "testkit")]
pub mod fake;
mod record;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use ingest_core::{RecordStream, SourceError, SourceResult};
use ingest_model::{AuthInput, SourceCommercetools};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use self::client::CtClient;
use self::record::{Localized, product_records};
use crate::http::display_url;
use crate::http::paged::{Pages, RepeatGuard, page_stream};
use crate::source::{ConfigError, Source, SourceContext, client_credentials};

/// Products asked per page (the API's maximum).
pub const PAGE_LIMIT: usize = 500;
/// Pages read per pass at most (100 million products): a guard against an endless API.
pub const MAX_PAGES: u64 = 200_000;
/// Product-selection assignments asked per request.
const ASSIGNMENT_LIMIT: usize = 500;
/// The API's offset ceiling, for the assignments of one page's id range.
const MAX_OFFSET: usize = 10_000;

/// The source of one locale, for an `indexPrefix` destination: its records go to
/// `{indexPrefix}{locale}`.
#[derive(Debug)]
pub struct LocaleSource {
    /// The locale (`en`, `de-DE`), also the index suffix.
    pub locale: String,
    /// Its records, localized fields reduced to this locale.
    pub source: Box<dyn Source>,
}

/// The per-locale sources of a commercetools input with `locales` (one index per locale, for an
/// `indexPrefix` destination). Empty when the input has no locales: the engine then runs
/// [`crate::build_source`] once into the index named after the source (`docs/api.md` C16).
pub fn locale_sources(
    input: &SourceCommercetools,
    auth: Option<&AuthInput>,
    context: &SourceContext,
) -> Result<Vec<LocaleSource>, ConfigError> {
    let client = Arc::new(client_for(input, auth, context)?);
    Ok(input
        .locales
        .iter()
        .flatten()
        .map(|locale| LocaleSource {
            locale: locale.clone(),
            source: Box::new(CommercetoolsSource {
                client: client.clone(),
                input: input.clone(),
                localized: Localized::One(locale.clone()),
                max_record_bytes: context.max_record_bytes,
            }) as Box<dyn Source>,
        })
        .collect())
}

/// The source of a commercetools input for an `indexName` destination (localized fields as maps).
pub(crate) fn build(
    input: &SourceCommercetools,
    auth: Option<&AuthInput>,
    context: &SourceContext,
) -> Result<Box<dyn Source>, ConfigError> {
    let client = Arc::new(client_for(input, auth, context)?);
    Ok(Box::new(CommercetoolsSource {
        client,
        input: input.clone(),
        localized: Localized::Maps,
        max_record_bytes: context.max_record_bytes,
    }))
}

fn client_for(
    input: &SourceCommercetools,
    auth: Option<&AuthInput>,
    context: &SourceContext,
) -> Result<CtClient, ConfigError> {
    let api = http_url(&input.url, "input.url")?;
    let Some(AuthInput::OAuth {
        url,
        client_id,
        client_secret,
        ..
    }) = auth
    else {
        return Err(ConfigError::new(
            "authentication.type",
            "a commercetools source needs an `oauth` authentication (token url, client_id, client_secret)",
        ));
    };
    let token_url = http_url(url, "authentication.input.url")?;
    let (client_id, client_secret) =
        client_credentials(client_id.as_ref(), client_secret.as_ref())?;
    if let Some(key) = input.store_keys.iter().flatten().find(|key| key.is_empty()) {
        return Err(ConfigError::new(
            "input.storeKeys",
            format!("store keys must not be empty (found {key:?})"),
        ));
    }
    Ok(CtClient::new(
        context.http.clone(),
        context.events.clone(),
        api,
        input.project_key.clone(),
        token_url,
        client_id,
        client_secret,
    ))
}

fn http_url(url: &str, field: &str) -> Result<Url, ConfigError> {
    let parsed = Url::parse(url)
        .map_err(|error| ConfigError::new(field, format!("not a valid URL: {error}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.cannot_be_a_base() {
        return Err(ConfigError::new(field, "must be an http or https URL"));
    }
    Ok(parsed)
}

/// The published product projections of one project, as variant records.
struct CommercetoolsSource {
    client: Arc<CtClient>,
    input: SourceCommercetools,
    localized: Localized,
    max_record_bytes: usize,
}

impl fmt::Debug for CommercetoolsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommercetoolsSource")
            .field("client", &self.client)
            .field("localized", &self.localized)
            .finish_non_exhaustive()
    }
}

impl Source for CommercetoolsSource {
    fn records(&self) -> RecordStream {
        let passes = match &self.input.store_keys {
            Some(keys) if !keys.is_empty() => keys.iter().cloned().map(Some).collect(),
            _ => vec![None],
        };
        page_stream(Scan {
            client: self.client.clone(),
            locales: match &self.localized {
                Localized::One(locale) => vec![locale.clone()],
                Localized::Maps => self.input.locales.clone().unwrap_or_default(),
            },
            localized: self.localized.clone(),
            predicate: self.input.product_query_predicate.clone(),
            max_record_bytes: self.max_record_bytes,
            passes: passes.into_iter().rev().collect(),
            pass: None,
        })
    }

    fn describe(&self) -> String {
        let url = self.client.url("product-projections", &[]);
        match &self.localized {
            Localized::One(locale) => format!("{} (locale {locale})", display_url(&url)),
            Localized::Maps => display_url(&url),
        }
    }
}

/// Reading state across passes.
struct Scan {
    client: Arc<CtClient>,
    locales: Vec<String>,
    localized: Localized,
    /// The source's `productQueryPredicate`, a `where` of every page.
    predicate: Option<String>,
    max_record_bytes: usize,
    /// Passes still to run, last first (`None`: the whole project).
    passes: Vec<Option<String>>,
    pass: Option<Pass>,
}

struct Pass {
    store: Option<String>,
    /// Whether the store has active product selections to honour.
    selections: bool,
    last_id: Option<String>,
    page: u64,
    guard: RepeatGuard,
}

#[derive(Deserialize)]
struct ProjectionPage {
    results: Vec<Value>,
}

#[derive(Deserialize)]
struct Store {
    #[serde(rename = "productSelections", default)]
    product_selections: Vec<StoreSelection>,
}

#[derive(Deserialize)]
struct StoreSelection {
    #[serde(default)]
    active: bool,
}

#[derive(Deserialize)]
struct AssignmentPage {
    results: Vec<Assignment>,
}

#[derive(Deserialize)]
struct Assignment {
    product: Reference,
    #[serde(rename = "variantSelection")]
    variant_selection: Option<VariantSelection>,
    #[serde(rename = "variantExclusion")]
    variant_exclusion: Option<VariantSelection>,
}

#[derive(Deserialize)]
struct Reference {
    id: String,
}

#[derive(Deserialize)]
struct VariantSelection {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    skus: HashSet<String>,
}

impl Assignment {
    /// Whether this assignment includes the variant with `sku`.
    fn includes(&self, sku: Option<&str>) -> bool {
        let sku = sku.unwrap_or_default();
        if let Some(exclusion) = &self.variant_exclusion
            && exclusion.skus.contains(sku)
        {
            return false;
        }
        match &self.variant_selection {
            None => true,
            Some(selection) => match selection.kind.as_deref() {
                Some("includeAllExcept") => !selection.skus.contains(sku),
                _ => selection.skus.contains(sku),
            },
        }
    }
}

impl Pages for Scan {
    async fn next_page(&mut self) -> Result<Option<Vec<SourceResult>>, SourceError> {
        loop {
            let mut pass = match self.pass.take() {
                Some(pass) => pass,
                None => {
                    let Some(store) = self.passes.pop() else {
                        return Ok(None);
                    };
                    let selections = match &store {
                        Some(key) => self.store_has_selections(key).await?,
                        None => false,
                    };
                    Pass {
                        store,
                        selections,
                        last_id: None,
                        page: 0,
                        guard: RepeatGuard::default(),
                    }
                }
            };
            pass.page += 1;
            if pass.page > MAX_PAGES {
                return Err(SourceError::new(format!(
                    "commercetools: more than {MAX_PAGES} pages of products; stopping (is the API ignoring the `where` cursor?)"
                )));
            }
            let url = projections_url(
                &self.client,
                &pass,
                &self.locales,
                self.predicate.as_deref(),
            );
            let page: ProjectionPage = self.client.get_json(&url).await?;
            let place = format!("commercetools {}", display_url(&url));
            let ids = page
                .results
                .iter()
                .map(|product| product.get("id").and_then(Value::as_str))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    SourceError::new(format!("{place}: a product projection has no `id`"))
                })?;
            let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
                continue;
            };
            if let Some(previous) = &pass.last_id
                && *first <= previous.as_str()
            {
                return Err(SourceError::new(format!(
                    "{place}: page {} starts at {first}, not after the previous page's last id {previous}: the API repeated a page (the `where` cursor was ignored); stopping rather than looping",
                    pass.page
                )));
            }
            if ids.windows(2).any(|pair| pair[0] >= pair[1]) {
                return Err(SourceError::new(format!(
                    "{place}: page {} is not sorted by id; keyset paging needs `sort=id asc`",
                    pass.page
                )));
            }
            pass.guard.check(first, last, &place)?;
            let assignments = match (&pass.store, pass.selections) {
                (Some(store), true) => Some(self.assignments(store, first, last).await?),
                _ => None,
            };
            let page_number = pass.page;
            let store = pass.store.clone();
            pass.last_id = Some((*last).to_owned());
            let full = page.results.len() >= PAGE_LIMIT;
            let mut items = Vec::new();
            for (offset, product) in page.results.iter().enumerate() {
                let id = product
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let assigned = assignments.as_ref().map(|map| map.get(id));
                let records = match assigned {
                    Some(None) => continue,
                    Some(Some(assigned)) => {
                        let keep = |variant: &Value| {
                            let sku = variant.get("sku").and_then(Value::as_str);
                            assigned.iter().any(|a| a.includes(sku))
                        };
                        self.records(product, store.as_deref(), &keep, page_number, offset)
                    }
                    None => self.records(product, store.as_deref(), &|_| true, page_number, offset),
                };
                items.extend(records);
            }
            if full {
                self.pass = Some(pass);
            }
            return Ok(Some(items));
        }
    }
}

impl Scan {
    fn records(
        &self,
        product: &Value,
        store: Option<&str>,
        keep: &dyn Fn(&Value) -> bool,
        page: u64,
        offset: usize,
    ) -> Vec<SourceResult> {
        product_records(
            product,
            store,
            &self.localized,
            keep,
            page,
            offset as u64,
            self.max_record_bytes,
        )
    }

    async fn store_has_selections(&self, store: &str) -> Result<bool, SourceError> {
        let url = self.client.url(&format!("stores/key={store}"), &[]);
        let store: Store = self.client.get_json(&url).await?;
        Ok(store.product_selections.iter().any(|s| s.active))
    }

    /// The product-selection assignments of `store` for the products with ids in
    /// `first..=last`, by product id.
    async fn assignments(
        &self,
        store: &str,
        first: &str,
        last: &str,
    ) -> Result<HashMap<String, Vec<Assignment>>, SourceError> {
        let predicate = format!(
            "product(id >= \"{}\" and id <= \"{}\")",
            escape(first),
            escape(last)
        );
        let limit = ASSIGNMENT_LIMIT.to_string();
        let mut by_product: HashMap<String, Vec<Assignment>> = HashMap::new();
        let mut offset = 0usize;
        loop {
            let offset_text = offset.to_string();
            let url = self.client.url(
                &format!("in-store/key={store}/product-selection-assignments"),
                &[
                    ("where", &predicate),
                    ("limit", &limit),
                    ("offset", &offset_text),
                    ("withTotal", "false"),
                ],
            );
            let page: AssignmentPage = self.client.get_json(&url).await?;
            let count = page.results.len();
            for assignment in page.results {
                by_product
                    .entry(assignment.product.id.clone())
                    .or_default()
                    .push(assignment);
            }
            if count < ASSIGNMENT_LIMIT {
                return Ok(by_product);
            }
            offset += count;
            if offset > MAX_OFFSET {
                return Err(SourceError::new(format!(
                    "commercetools store {store}: more than {MAX_OFFSET} product-selection assignments for one page of products"
                )));
            }
        }
    }
}

/// One page's URL: keyset paging by `id`, the user's predicate (if any) as another `where`
/// (repeated `where` values are AND-ed).
fn projections_url(
    client: &CtClient,
    pass: &Pass,
    locales: &[String],
    predicate: Option<&str>,
) -> Url {
    let limit = PAGE_LIMIT.to_string();
    let mut query: Vec<(&str, String)> = vec![
        ("sort", "id asc".into()),
        ("limit", limit),
        ("withTotal", "false".into()),
        ("staged", "false".into()),
        ("expand", "productType".into()),
        ("expand", "categories[*]".into()),
        ("expand", "categories[*].ancestors[*]".into()),
    ];
    for locale in locales {
        query.push(("localeProjection", locale.clone()));
    }
    if let Some(store) = &pass.store {
        query.push(("storeProjection", store.clone()));
    }
    if let Some(predicate) = predicate {
        query.push(("where", predicate.to_owned()));
    }
    if let Some(last) = &pass.last_id {
        query.push(("where", format!("id > \"{}\"", escape(last))));
    }
    let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.url("product-projections", &pairs)
}

/// A string for a query predicate's double quotes.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}
