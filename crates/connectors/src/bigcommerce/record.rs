//! One record per product (`docs/connectors.md` 6, BigCommerce; the shape of Algolia's hosted
//! connector, `docs/connectors.md` §2.9).
//!
//! `objectID` is the product id as text. Fields: `name`, `sku`, `type`, `description`,
//! `brand_id`, `brand_name`, `categories` (`{lvl0: ["Shop"], lvl1: ["Shop > Books"], …}`, from the
//! category tree), `categories_without_path` (names), `category_ids`, `custom_fields` (`{name:
//! [values]}`), `date_created`, `date_modified`, `default_price` (the product's `price`),
//! `price`, `sale_price`, `retail_price`, `calculated_price`, per-currency `prices`,
//! `sales_prices`, `retail_prices`, `calculated_prices` (`{"USD": 34.65}`, only with channel
//! currencies: the base variant's channel prices), `in_stock` (`inventory_level > 0`; with
//! variant tracking, any variant in stock; true when inventory is not tracked), `inventory`, `inventory_tracking`, `is_visible`,
//! `is_featured`, `availability`, `condition`, `search_keywords`, `url` (`custom_url.url`),
//! `image_url` (the primary or thumbnail image, standard size), `product_images`,
//! `option_names`, `variant_ids` and `variants` (`{id, sku, image_url, in_stock, inventory,
//! options: {name: label}, calculated_price, prices, sales_prices, retail_prices,
//! calculated_prices, upc, mpn, gtin}`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use ingest_core::{Position, Record, RecordRejection, SourceResult};
use serde_json::{Map, Value, json};

/// Names looked up once per run.
#[derive(Debug, Default)]
pub(crate) struct Names {
    /// Category id → (name, parent id; 0 for a root).
    pub categories: HashMap<u64, (String, u64)>,
    /// Brand id → name.
    pub brands: HashMap<u64, String>,
}

/// Channel prices of one variant: currency → the pricing API's item.
pub(crate) type VariantPrices = HashMap<u64, BTreeMap<String, Value>>;

/// Deepest category path followed (and a guard against a cycle of parents).
const MAX_CATEGORY_DEPTH: usize = 16;

impl Names {
    /// The names from the root to `id`.
    fn path(&self, id: u64) -> Vec<&str> {
        let mut path = Vec::new();
        let mut current = id;
        while let Some((name, parent)) = self.categories.get(&current) {
            path.push(name.as_str());
            if *parent == 0 || path.len() >= MAX_CATEGORY_DEPTH {
                break;
            }
            current = *parent;
        }
        path.reverse();
        path
    }
}

fn ids(value: Option<&Value>) -> Vec<u64> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect()
}

/// The record of `product`; prices are looked up in `prices` by variant id.
pub(crate) fn product_record(
    product: &Value,
    names: &Names,
    prices: &VariantPrices,
    with_currencies: bool,
    page: u64,
    offset: u64,
    max_record_bytes: usize,
) -> SourceResult {
    let reject = |object_id: Option<Arc<str>>, reason: String| {
        Err(RecordRejection {
            position: Position::Page { page, offset },
            object_id,
            reason,
        }
        .into())
    };
    let Some(id) = product.get("id").and_then(Value::as_u64) else {
        return reject(None, "the product has no numeric `id`".into());
    };
    let object_id = id.to_string();
    let get = |name: &str| product.get(name).cloned().unwrap_or(Value::Null);
    let category_ids = ids(product.get("categories"));
    let mut levels: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut plain = Vec::new();
    for category in &category_ids {
        let path = names.path(*category);
        if let Some(name) = path.last() {
            plain.push(Value::from(*name));
        }
        for depth in 0..path.len() {
            let joined = path[..=depth].join(" > ");
            let level = levels.entry(depth).or_default();
            if !level.contains(&joined) {
                level.push(joined);
            }
        }
    }
    let categories: Map<String, Value> = levels
        .into_iter()
        .map(|(depth, names)| (format!("lvl{depth}"), json!(names)))
        .collect();
    let brand_id = product
        .get("brand_id")
        .and_then(Value::as_u64)
        .filter(|id| *id > 0);
    let mut custom_fields: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for field in product
        .get("custom_fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = field.get("name").and_then(Value::as_str) {
            custom_fields
                .entry(name.to_owned())
                .or_default()
                .push(field.get("value").cloned().unwrap_or(Value::Null));
        }
    }
    let images = product.get("images").and_then(Value::as_array);
    let product_images: Vec<Value> = images
        .into_iter()
        .flatten()
        .map(|image| {
            json!({
                "description": image.get("description"),
                "is_thumbnail": image.get("is_thumbnail"),
                "url_thumbnail": image.get("url_thumbnail"),
                "url_standard": image.get("url_standard"),
                "url_zoom": image.get("url_zoom"),
            })
        })
        .collect();
    let image_url = product
        .pointer("/primary_image/url_standard")
        .or_else(|| {
            images.and_then(|images| {
                images
                    .iter()
                    .find(|image| image.get("is_thumbnail") == Some(&Value::Bool(true)))
                    .or(images.first())
                    .and_then(|image| image.get("url_standard"))
            })
        })
        .cloned()
        .unwrap_or(Value::Null);
    let tracking = product.get("inventory_tracking").and_then(Value::as_str);
    let stock = |level: Option<&Value>| {
        tracking == Some("none") || level.and_then(Value::as_i64).is_some_and(|level| level > 0)
    };
    let variants = product.get("variants").and_then(Value::as_array);
    let mut option_names: Vec<String> = Vec::new();
    let mut variant_ids = Vec::new();
    let mut variant_records = Vec::new();
    for variant in variants.into_iter().flatten() {
        let variant_id = variant.get("id").and_then(Value::as_u64);
        variant_ids.extend(variant_id);
        let mut options = Map::new();
        for option in variant
            .get("option_values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = option.get("option_display_name").and_then(Value::as_str) {
                if !option_names.iter().any(|known| known == name) {
                    option_names.push(name.to_owned());
                }
                options.insert(
                    name.to_owned(),
                    option.get("label").cloned().unwrap_or(Value::Null),
                );
            }
        }
        let level = if tracking == Some("variant") {
            variant.get("inventory_level")
        } else {
            product.get("inventory_level")
        };
        let mut record = json!({
            "id": variant_id,
            "sku": variant.get("sku"),
            "image_url": variant.get("image_url").filter(|url| url.as_str().is_some_and(|u| !u.is_empty())),
            "in_stock": stock(level) && variant.get("purchasing_disabled") != Some(&Value::Bool(true)),
            "inventory": level,
            "options": options,
            "calculated_price": variant.get("calculated_price"),
            "upc": variant.get("upc"),
            "mpn": variant.get("mpn"),
            "gtin": variant.get("gtin"),
        });
        if with_currencies {
            insert_prices(&mut record, variant_id.and_then(|id| prices.get(&id)));
        }
        variant_records.push(record);
    }
    let in_stock = if tracking == Some("variant") && !variant_records.is_empty() {
        variant_records
            .iter()
            .any(|variant| variant["in_stock"] == Value::Bool(true))
    } else {
        stock(product.get("inventory_level"))
    };
    let mut record = json!({
        "objectID": object_id,
        "name": get("name"),
        "sku": get("sku"),
        "type": get("type"),
        "description": get("description"),
        "brand_id": brand_id,
        "brand_name": brand_id.and_then(|id| names.brands.get(&id)),
        "categories": categories,
        "categories_without_path": plain,
        "category_ids": category_ids,
        "custom_fields": custom_fields,
        "date_created": get("date_created"),
        "date_modified": get("date_modified"),
        "default_price": get("price"),
        "price": get("price"),
        "sale_price": get("sale_price"),
        "retail_price": get("retail_price"),
        "calculated_price": get("calculated_price"),
        "in_stock": in_stock,
        "inventory": get("inventory_level"),
        "inventory_tracking": get("inventory_tracking"),
        "is_visible": get("is_visible"),
        "is_featured": get("is_featured"),
        "availability": get("availability"),
        "condition": get("condition"),
        "search_keywords": get("search_keywords"),
        "url": product.pointer("/custom_url/url").cloned().unwrap_or(Value::Null),
        "image_url": image_url,
        "product_images": product_images,
        "option_names": option_names,
        "variant_ids": variant_ids,
        "variants": variant_records,
    });
    if with_currencies {
        let base = product
            .get("base_variant_id")
            .and_then(Value::as_u64)
            .or_else(|| variant_ids.first().copied());
        insert_prices(&mut record, base.and_then(|id| prices.get(&id)));
    }
    let object_id: Arc<str> = object_id.into();
    match serde_json::to_vec(&record) {
        Ok(json) if json.len() > max_record_bytes => reject(
            Some(object_id),
            format!(
                "the record is {} bytes, more than the {max_record_bytes} a record may have",
                json.len()
            ),
        ),
        Ok(json) => Ok(Record::new(Some(object_id), Bytes::from(json))),
        Err(error) => reject(
            Some(object_id),
            format!("cannot serialize the record: {error}"),
        ),
    }
}

/// Adds `prices`, `sales_prices`, `retail_prices` and `calculated_prices` (`{currency:
/// amount}`, the `as_entered` amounts) from a variant's pricing items.
fn insert_prices(record: &mut Value, items: Option<&BTreeMap<String, Value>>) {
    for (field, key) in [
        ("prices", "price"),
        ("sales_prices", "sale_price"),
        ("retail_prices", "retail_price"),
        ("calculated_prices", "calculated_price"),
    ] {
        let amounts: Map<String, Value> = items
            .into_iter()
            .flatten()
            .map(|(currency, item)| {
                let amount = item
                    .get(key)
                    .and_then(|price| price.get("as_entered"))
                    .cloned()
                    .unwrap_or(Value::Null);
                (currency.clone(), amount)
            })
            .collect();
        record[field] = Value::Object(amounts);
    }
}
