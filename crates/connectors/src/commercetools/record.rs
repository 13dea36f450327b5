//! One record per variant of a product projection (`docs/connectors.md` 5, commercetools).
//!
//! `objectID` is `{productID}.{variantID}`, or `{storeKey}.{productID}.{variantID}` in a store
//! pass (which also adds `storeKey`). Product fields: `productID`, `productKey`, `productType`
//! (the type's name when expanded, else its id), `name`, `description`, `slug`, `categories`
//! (hierarchical facets), `categoryKeys`, `categoryPageID` (see [`super::categories`]),
//! `categoryIDs`, `createdAt`, `lastModifiedAt`. Variant fields: `variantID`,
//! `isMasterVariant`, `sku`, `key`, `prices`, `images`, `attributes`, `isInStock`.
//!
//! Localized fields (`LocalizedString`s, also inside attribute values and enum labels) are maps
//! `{locale: value}` ([`Localized::Maps`]), or, in a one-locale pass ([`Localized::One`]), that
//! locale's value (`null` when the product has none; an empty object, all the API's
//! `localeProjection` leaves of a LocalizedString without that locale, also becomes `null`).
//!
//! `prices` groups the variant's prices by currency: `{"EUR": {"min", "max", "priceValues":
//! [{id, value, discountedValue, fractionDigits, country, channelID, customerGroupID, validFrom,
//! validUntil}]}}`, amounts in cents (`centAmount`); `min`/`max` are over the effective amounts
//! (the discounted one when there is one). `isInStock` is true when the variant's inventory or
//! any of its supply channels is on stock, and true when it has no inventory entry at all
//! (commercetools does not block orders of untracked variants).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use ingest_core::{Position, Record, RecordRejection, SourceResult};
use serde::Serialize;
use serde_json::{Map, Value};

use super::categories;

/// How localized fields appear in records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Localized {
    /// As maps `{locale: value}` (an `indexName` destination).
    Maps,
    /// As the value of this locale (one index per locale).
    One(String),
}

/// Deepest nesting of attribute values walked when projecting a locale.
const MAX_DEPTH: usize = 32;

#[derive(Serialize)]
struct VariantRecord<'a> {
    #[serde(rename = "objectID")]
    object_id: &'a str,
    #[serde(rename = "storeKey", skip_serializing_if = "Option::is_none")]
    store_key: Option<&'a str>,
    #[serde(rename = "productID")]
    product_id: &'a str,
    #[serde(rename = "productKey")]
    product_key: &'a Value,
    #[serde(rename = "productType")]
    product_type: &'a Value,
    name: Value,
    description: Value,
    slug: Value,
    categories: &'a Value,
    #[serde(rename = "categoryKeys")]
    category_keys: &'a [String],
    #[serde(rename = "categoryPageID")]
    category_page_ids: &'a [String],
    #[serde(rename = "categoryIDs")]
    category_ids: Vec<&'a str>,
    #[serde(rename = "variantID")]
    variant_id: u64,
    #[serde(rename = "isMasterVariant")]
    is_master_variant: bool,
    sku: &'a Value,
    key: &'a Value,
    prices: BTreeMap<&'a str, PriceGroup<'a>>,
    images: Vec<&'a str>,
    attributes: Map<String, Value>,
    #[serde(rename = "isInStock")]
    is_in_stock: bool,
    #[serde(rename = "createdAt")]
    created_at: &'a Value,
    #[serde(rename = "lastModifiedAt")]
    last_modified_at: &'a Value,
}

#[derive(Serialize)]
struct PriceGroup<'a> {
    min: i64,
    max: i64,
    #[serde(rename = "priceValues")]
    price_values: Vec<PriceValue<'a>>,
}

#[derive(Serialize)]
struct PriceValue<'a> {
    id: &'a Value,
    value: i64,
    #[serde(rename = "discountedValue")]
    discounted_value: Option<i64>,
    #[serde(rename = "fractionDigits")]
    fraction_digits: &'a Value,
    country: &'a Value,
    #[serde(rename = "channelID")]
    channel_id: &'a Value,
    #[serde(rename = "customerGroupID")]
    customer_group_id: &'a Value,
    #[serde(rename = "validFrom")]
    valid_from: &'a Value,
    #[serde(rename = "validUntil")]
    valid_until: &'a Value,
}

static NULL: Value = Value::Null;

/// The records of one product projection. `keep_variant` says which variants a store's product
/// selections keep (all, outside a store with selections). `page` and `offset` place rejections.
pub(crate) fn product_records(
    product: &Value,
    store_key: Option<&str>,
    localized: &Localized,
    keep_variant: &dyn Fn(&Value) -> bool,
    page: u64,
    offset: u64,
    max_record_bytes: usize,
) -> Vec<SourceResult> {
    let reject = |object_id: Option<Arc<str>>, reason: String| {
        Err(RecordRejection {
            position: Position::Page { page, offset },
            object_id,
            reason,
        }
        .into())
    };
    let Some(product_id) = product.get("id").and_then(Value::as_str) else {
        return vec![reject(None, "the product projection has no `id`".into())];
    };
    let master = product.get("masterVariant");
    let others = product.get("variants").and_then(Value::as_array);
    if master.is_none_or(Value::is_null) {
        return vec![reject(
            Some(product_id.into()),
            "the product has no master variant (a Modular catalog? its variants are only in the Variant Projections API, which this connector does not read)".into(),
        )];
    }
    let variants = master
        .into_iter()
        .chain(others.into_iter().flatten())
        .filter(|variant| keep_variant(variant));
    let product_type = product.get("productType").unwrap_or(&NULL);
    let product_type = product_type
        .pointer("/obj/name")
        .or_else(|| product_type.get("id"))
        .unwrap_or(&NULL);
    let categories = product.get("categories").and_then(Value::as_array);
    let category_ids = categories
        .into_iter()
        .flatten()
        .filter_map(|category| category.get("id").and_then(Value::as_str))
        .collect::<Vec<_>>();
    let shaped = categories::categories(categories.map(Vec::as_slice).unwrap_or(&[]), localized);
    let name = localize_field(product.get("name"), localized);
    let description = localize_field(product.get("description"), localized);
    let slug = localize_field(product.get("slug"), localized);
    let mut out = Vec::new();
    for variant in variants {
        let Some(variant_id) = variant.get("id").and_then(Value::as_u64) else {
            out.push(reject(
                Some(product_id.into()),
                "a variant has no numeric `id`".into(),
            ));
            continue;
        };
        let object_id = match store_key {
            Some(store) => format!("{store}.{product_id}.{variant_id}"),
            None => format!("{product_id}.{variant_id}"),
        };
        let record = VariantRecord {
            object_id: &object_id,
            store_key,
            product_id,
            product_key: product.get("key").unwrap_or(&NULL),
            product_type,
            name: name.clone(),
            description: description.clone(),
            slug: slug.clone(),
            categories: &shaped.facets,
            category_keys: &shaped.keys,
            category_page_ids: &shaped.page_ids,
            category_ids: category_ids.clone(),
            variant_id,
            is_master_variant: master.is_some_and(|master| std::ptr::eq(master, variant)),
            sku: variant.get("sku").unwrap_or(&NULL),
            key: variant.get("key").unwrap_or(&NULL),
            prices: prices(variant),
            images: variant
                .get("images")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|image| image.get("url").and_then(Value::as_str))
                .collect(),
            attributes: attributes(variant, localized),
            is_in_stock: in_stock(variant),
            created_at: product.get("createdAt").unwrap_or(&NULL),
            last_modified_at: product.get("lastModifiedAt").unwrap_or(&NULL),
        };
        let object_id: Arc<str> = object_id.as_str().into();
        match serde_json::to_vec(&record) {
            Ok(json) if json.len() > max_record_bytes => out.push(reject(
                Some(object_id),
                format!(
                    "the record is {} bytes, more than the {max_record_bytes} a record may have",
                    json.len()
                ),
            )),
            Ok(json) => out.push(Ok(Record::new(Some(object_id), Bytes::from(json)))),
            Err(error) => out.push(reject(
                Some(object_id),
                format!("cannot serialize the record: {error}"),
            )),
        }
    }
    out
}

fn localize_field(value: Option<&Value>, localized: &Localized) -> Value {
    let Some(value) = value else {
        return Value::Null;
    };
    match localized {
        Localized::Maps => value.clone(),
        Localized::One(locale) => match value {
            Value::Object(map) => map.get(locale).cloned().unwrap_or(Value::Null),
            other => other.clone(),
        },
    }
}

fn prices(variant: &Value) -> BTreeMap<&str, PriceGroup<'_>> {
    let mut groups: BTreeMap<&str, PriceGroup<'_>> = BTreeMap::new();
    let prices = variant.get("prices").and_then(Value::as_array);
    for price in prices.into_iter().flatten() {
        let money = price.get("value").unwrap_or(&NULL);
        let (Some(currency), Some(value)) = (
            money.get("currencyCode").and_then(Value::as_str),
            money.get("centAmount").and_then(Value::as_i64),
        ) else {
            continue;
        };
        let discounted = price
            .pointer("/discounted/value/centAmount")
            .and_then(Value::as_i64);
        let effective = discounted.unwrap_or(value);
        let entry = PriceValue {
            id: price.get("id").unwrap_or(&NULL),
            value,
            discounted_value: discounted,
            fraction_digits: money.get("fractionDigits").unwrap_or(&NULL),
            country: price.get("country").unwrap_or(&NULL),
            channel_id: price.pointer("/channel/id").unwrap_or(&NULL),
            customer_group_id: price.pointer("/customerGroup/id").unwrap_or(&NULL),
            valid_from: price.get("validFrom").unwrap_or(&NULL),
            valid_until: price.get("validUntil").unwrap_or(&NULL),
        };
        let group = groups.entry(currency).or_insert(PriceGroup {
            min: effective,
            max: effective,
            price_values: Vec::new(),
        });
        group.min = group.min.min(effective);
        group.max = group.max.max(effective);
        group.price_values.push(entry);
    }
    groups
}

fn attributes(variant: &Value, localized: &Localized) -> Map<String, Value> {
    let attributes = variant.get("attributes").and_then(Value::as_array);
    attributes
        .into_iter()
        .flatten()
        .filter_map(|attribute| {
            let name = attribute.get("name")?.as_str()?;
            let value = attribute.get("value").unwrap_or(&NULL);
            let value = match localized {
                Localized::Maps => value.clone(),
                Localized::One(locale) => project(value, locale, 0),
            };
            Some((name.to_owned(), value))
        })
        .collect()
}

/// `value` with every `LocalizedString` inside it replaced by its `locale` text.
fn project(value: &Value, locale: &str, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return value.clone();
    }
    match value {
        Value::Object(map) if is_localized_string(map) => {
            map.get(locale).cloned().unwrap_or(Value::Null)
        }
        // What the API leaves of a LocalizedString without this locale.
        Value::Object(map) if map.is_empty() => Value::Null,
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, inner)| (key.clone(), project(inner, locale, depth + 1)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| project(item, locale, depth + 1))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A `LocalizedString`: a non-empty object whose keys are all locales (`en`, `de-DE`) and whose
/// values are all strings. (A reference `{typeId, id}` or an enum `{key, label}` is not.)
fn is_localized_string(map: &Map<String, Value>) -> bool {
    !map.is_empty()
        && map
            .iter()
            .all(|(key, value)| ingest_model::is_valid_locale(key) && value.is_string())
}

fn in_stock(variant: &Value) -> bool {
    let Some(availability) = variant.get("availability").filter(|a| a.is_object()) else {
        return true;
    };
    let own = availability.get("isOnStock").and_then(Value::as_bool);
    let channels = availability
        .get("channels")
        .and_then(Value::as_object)
        .map(|channels| {
            channels
                .values()
                .filter_map(|channel| channel.get("isOnStock").and_then(Value::as_bool))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if own.is_none() && channels.is_empty() {
        return true;
    }
    own == Some(true) || channels.contains(&true)
}
