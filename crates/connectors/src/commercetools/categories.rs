//! A product's categories as Algolia's hosted commercetools connector shapes them
//! (`docs/connectors.md` §1.10), from the references expanded with `categories[*]` and
//! `categories[*].ancestors[*]`:
//!
//! - `categories`: hierarchical facets, `{"lvl0": ["Men"], "lvl1": ["Men > Shirts"]}` for each
//!   category's path from its root (the category itself last), per locale
//!   (`{locale: {lvl0, …}}`) or, in a one-locale pass, for that locale. A path stops at the first
//!   category without a name in the locale.
//! - `categoryKeys`: the keys of the product's categories.
//! - `categoryPageID`: the keys of the product's categories and of all their ancestors (a
//!   category's ID when it has no key), so that the page of a category, filtered on
//!   `categoryPageID:{key}`, lists the products of its subcategories too. Keys, not names: the
//!   same filter works in every locale.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::record::Localized;

/// What a product's categories give its records.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Categories {
    pub(crate) facets: Value,
    pub(crate) keys: Vec<String>,
    pub(crate) page_ids: Vec<String>,
}

/// The categories of `references` (a product projection's `categories`).
pub(crate) fn categories(references: &[Value], localized: &Localized) -> Categories {
    // Each category's path from its root, as category objects.
    let paths: Vec<Vec<&Value>> = references
        .iter()
        .filter_map(|reference| reference.get("obj"))
        .map(|category| {
            let ancestors = category.get("ancestors").and_then(Value::as_array);
            let mut path: Vec<&Value> = ancestors
                .into_iter()
                .flatten()
                .filter_map(|ancestor| ancestor.get("obj"))
                .collect();
            path.push(category);
            path
        })
        .collect();
    let facets = match localized {
        Localized::One(locale) => levels(&paths, locale),
        Localized::Maps => {
            let mut locales: Vec<&str> = paths
                .iter()
                .flatten()
                .filter_map(|category| category.get("name").and_then(Value::as_object))
                .flat_map(|names| names.keys().map(String::as_str))
                .collect();
            locales.sort_unstable();
            locales.dedup();
            Value::Object(
                locales
                    .into_iter()
                    .map(|locale| (locale.to_owned(), levels(&paths, locale)))
                    .collect(),
            )
        }
    };
    let keys = references
        .iter()
        .filter_map(|reference| reference.pointer("/obj/key").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    let mut page_ids = Vec::new();
    for category in paths.iter().flatten() {
        let id = category
            .get("key")
            .or_else(|| category.get("id"))
            .and_then(Value::as_str);
        if let Some(id) = id
            && !page_ids.iter().any(|known| known == id)
        {
            page_ids.push(id.to_owned());
        }
    }
    Categories {
        facets,
        keys,
        page_ids,
    }
}

/// `{lvl0: [...], lvl1: [...], …}` in `locale`: each distinct path prefix once, in order.
fn levels(paths: &[Vec<&Value>], locale: &str) -> Value {
    let mut levels: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for path in paths {
        let mut prefix = String::new();
        for (depth, category) in path.iter().enumerate() {
            let Some(name) = name_in(category, locale) else {
                break;
            };
            if depth > 0 {
                prefix.push_str(" > ");
            }
            prefix.push_str(name);
            let level = levels.entry(depth).or_default();
            if !level.contains(&prefix) {
                level.push(prefix.clone());
            }
        }
    }
    let levels: Map<String, Value> = levels
        .into_iter()
        .map(|(depth, paths)| (format!("lvl{depth}"), Value::from(paths)))
        .collect();
    Value::Object(levels)
}

/// A category's name in `locale`: a `LocalizedString`'s entry, or the name itself when the API
/// already projected it to a string.
fn name_in<'a>(category: &'a Value, locale: &str) -> Option<&'a str> {
    match category.get("name")? {
        Value::Object(names) => names.get(locale)?.as_str(),
        Value::String(name) => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn category(id: &str, key: Option<&str>, name: Value, ancestors: Vec<Value>) -> Value {
        let mut obj = json!({"id": id, "name": name, "ancestors": ancestors});
        if let Some(key) = key {
            obj["key"] = json!(key);
        }
        obj
    }

    fn reference(obj: Value) -> Value {
        json!({"typeId": "category", "id": obj["id"], "obj": obj})
    }

    #[test]
    fn paths_from_the_root_per_level_and_locale() {
        let men = category(
            "1",
            Some("men"),
            json!({"en": "Men", "de": "Herren"}),
            vec![],
        );
        let clothing = category(
            "2",
            Some("men-clothing"),
            json!({"en": "Clothing", "de": "Kleidung"}),
            vec![reference(men.clone())],
        );
        let shirts = category(
            "3",
            None,
            json!({"en": "Shirts"}),
            vec![reference(men.clone()), reference(clothing.clone())],
        );
        let sale = category(
            "4",
            Some("sale"),
            json!({"en": "Sale", "de": "Angebote"}),
            vec![],
        );
        let product = [reference(shirts), reference(sale)];

        let maps = categories(&product, &Localized::Maps);
        assert_eq!(
            maps.facets,
            json!({
                "de": {"lvl0": ["Herren", "Angebote"], "lvl1": ["Herren > Kleidung"]},
                "en": {
                    "lvl0": ["Men", "Sale"],
                    "lvl1": ["Men > Clothing"],
                    "lvl2": ["Men > Clothing > Shirts"],
                },
            })
        );
        assert_eq!(maps.keys, ["sale"]);
        assert_eq!(maps.page_ids, ["men", "men-clothing", "3", "sale"]);

        let de = categories(&product, &Localized::One("de".into()));
        assert_eq!(
            de.facets,
            json!({"lvl0": ["Herren", "Angebote"], "lvl1": ["Herren > Kleidung"]})
        );
    }

    #[test]
    fn unexpanded_references_give_nothing() {
        let product = [json!({"typeId": "category", "id": "1"})];
        let none = categories(&product, &Localized::Maps);
        assert_eq!(none.facets, json!({}));
        assert!(none.keys.is_empty() && none.page_ids.is_empty());
    }
}
