//! `POST /1/indexes/{index}/browse` in the fake: every record of an index in pages, in objectID
//! order, with a cursor to the next page and the `filters` Algolia's browse takes (the subset
//! the tests need: `attribute:value` facets joined by ` AND `, values quoted or not).

use serde_json::{Map, Value, json};

use super::state::Index;

/// Algolia's default (and largest) page of a browse.
const MAX_HITS_PER_PAGE: usize = 1000;

/// The parameters of one browse request, as the fake read them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrowseParams {
    /// `cursor`: where the previous page ended.
    pub cursor: Option<String>,
    /// `filters`.
    pub filters: Option<String>,
    /// `hitsPerPage` (1000 when absent).
    pub hits_per_page: Option<usize>,
}

impl BrowseParams {
    /// The parameters of a browse body (an empty body browses from the start).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let value: Map<String, Value> =
            serde_json::from_slice(body).map_err(|e| format!("Invalid browse body: {e}"))?;
        let text = |name: &str| match value.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(format!("{name} must be a string")),
        };
        let hits_per_page = match value.get("hitsPerPage") {
            None => None,
            Some(n) => match n.as_u64() {
                Some(n @ 1..=1000) => Some(n as usize),
                _ => return Err("hitsPerPage must be an integer from 1 to 1000".into()),
            },
        };
        Ok(Self {
            cursor: text("cursor")?,
            filters: text("filters")?,
            hits_per_page,
        })
    }
}

/// One page of `index`: the records after the cursor that pass the filters.
pub(crate) fn page(index: &Index, params: &BrowseParams) -> Value {
    let mut ids: Vec<&String> = index.records.keys().collect();
    ids.sort();
    let after = params.cursor.as_deref();
    let facets = params
        .filters
        .as_deref()
        .map(parse_filters)
        .unwrap_or_default();
    let size = params.hits_per_page.unwrap_or(MAX_HITS_PER_PAGE);
    let mut hits = Vec::new();
    let mut next = None;
    for id in ids
        .into_iter()
        .filter(|id| after.is_none_or(|a| id.as_str() > a))
    {
        let Some(record) = index.record(id) else {
            continue;
        };
        if !facets
            .iter()
            .all(|(attribute, value)| matches(&record, attribute, value))
        {
            continue;
        }
        if hits.len() == size {
            next = hits
                .last()
                .and_then(|hit: &Value| hit["objectID"].as_str().map(str::to_owned));
            break;
        }
        hits.push(record);
    }
    let mut page = json!({"hits": hits, "page": 0, "hitsPerPage": size});
    if let Some(cursor) = next {
        page["cursor"] = json!(cursor);
    }
    page
}

/// `a:b AND c:"d e"` as `[(a, b), (c, d e)]`.
fn parse_filters(filters: &str) -> Vec<(String, String)> {
    filters
        .split(" AND ")
        .filter_map(|facet| {
            let (attribute, value) = facet.trim().split_once(':')?;
            Some((
                attribute.trim().to_owned(),
                value.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect()
}

fn matches(record: &Value, attribute: &str, value: &str) -> bool {
    match record.get(attribute) {
        Some(Value::Array(items)) => items.iter().any(|item| scalar_is(item, value)),
        Some(scalar) => scalar_is(scalar, value),
        None => false,
    }
}

/// Whether a string, boolean or number reads as `value`.
fn scalar_is(scalar: &Value, value: &str) -> bool {
    match scalar {
        Value::String(text) => text == value,
        Value::Bool(flag) => value.parse::<bool>().is_ok_and(|v| v == *flag),
        Value::Number(number) => number.to_string() == value,
        _ => false,
    }
}
