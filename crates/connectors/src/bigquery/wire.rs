//! BigQuery's JSON shapes: result pages, schemas, cells.
//!
//! A page (`jobs.query`, `jobs.getQueryResults`, `tabledata.list`) is parsed in one pass into
//! [`Page`], whose rows borrow their strings from the body where they hold no escapes: no
//! `serde_json::Value` per cell. A cell is `{"v": …}` where the value is `null`, a string, a
//! list of cells (REPEATED) or `{"f": [cells]}` (RECORD).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One result page, or the answer of a job still running.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Page<'a> {
    /// The result schema (query results; absent while a job runs and on `tabledata.list`).
    #[serde(default)]
    pub schema: Option<TableSchema>,
    /// The job, for query results.
    #[serde(rename = "jobReference", default)]
    pub job_reference: Option<JobReference>,
    /// The token of the next page; none on the last.
    #[serde(rename = "pageToken", default)]
    pub page_token: Option<String>,
    /// The rows of this page.
    #[serde(default, borrow)]
    pub rows: Option<Vec<Row<'a>>>,
    /// For queries: whether the job is done (rows are only there when it is).
    #[serde(rename = "jobComplete", default)]
    pub job_complete: Option<bool>,
    /// An error object, which a 200 should never carry.
    #[serde(default)]
    pub error: Option<ErrorObject>,
}

/// `{"error": {"code", "message", "status"}}` (only the parts we read).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorObject {
    /// The human-readable message.
    #[serde(default)]
    pub message: Option<String>,
}

/// `jobReference`.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct JobReference {
    /// The job's ID.
    #[serde(rename = "jobId")]
    pub job_id: String,
    /// Where it runs (`US`, `EU`, `europe-west1`…).
    #[serde(default)]
    pub location: Option<String>,
}

/// A table resource (`tables.get`), only the parts we read.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Table {
    /// `TABLE`, `VIEW`, `MATERIALIZED_VIEW`, `EXTERNAL`, `SNAPSHOT`.
    #[serde(rename = "type", default)]
    pub table_type: Option<String>,
    /// The table's schema.
    #[serde(default)]
    pub schema: Option<TableSchema>,
    /// The dataset's location.
    #[serde(default)]
    pub location: Option<String>,
}

/// `schema`.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct TableSchema {
    /// The columns.
    #[serde(default)]
    pub fields: Vec<FieldSchema>,
}

/// One column (or sub-field of a RECORD).
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct FieldSchema {
    /// Its name.
    pub name: String,
    /// `STRING`, `INTEGER`, `RECORD`, …
    #[serde(rename = "type", default)]
    pub field_type: String,
    /// `NULLABLE`, `REQUIRED` or `REPEATED`.
    #[serde(default)]
    pub mode: Option<String>,
    /// A RECORD's sub-fields.
    #[serde(default)]
    pub fields: Vec<FieldSchema>,
}

/// A row: `{"f": [cells]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Row<'a> {
    /// The cells, in schema order.
    #[serde(borrow)]
    pub f: Vec<Cell<'a>>,
}

/// A cell's value.
#[derive(Debug, PartialEq)]
pub(crate) enum Cell<'a> {
    /// `null`.
    Null,
    /// Every scalar arrives as a string.
    Text(Cow<'a, str>),
    /// A REPEATED value: the elements.
    List(Vec<Cell<'a>>),
    /// A RECORD value: its sub-fields' cells.
    Record(Vec<Cell<'a>>),
}

/// The keys of a cell object (`v`) and of a record (`f`).
#[derive(Deserialize)]
enum Key {
    #[serde(rename = "v")]
    V,
    #[serde(rename = "f")]
    F,
    #[serde(other)]
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Cell<'a> {
    /// A cell is read from its wrapper object `{"v": value}`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(WrapperVisitor)
    }
}

struct WrapperVisitor;

impl<'de> Visitor<'de> for WrapperVisitor {
    type Value = Cell<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a cell {\"v\": …}")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut value = Cell::Null;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::V => value = map.next_value_seed(ValueSeed)?,
                Key::F | Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(value)
    }
}

/// The `v` of a cell.
struct ValueSeed;

impl<'de> de::DeserializeSeed<'de> for ValueSeed {
    type Value = Cell<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Cell<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a cell value: null, a string, a list of cells or {\"f\": [cells]}")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Cell::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Cell::Null)
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Cell::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Cell::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
        Ok(Cell::Text(Cow::Owned(text)))
    }

    // Scalars are strings on the wire; tolerate bare JSON scalars from other writers.
    fn visit_bool<E>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Cell::Text(Cow::Borrowed(if value {
            "true"
        } else {
            "false"
        })))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Cell::Text(Cow::Owned(value.to_string())))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Cell::Text(Cow::Owned(value.to_string())))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Cell::Text(Cow::Owned(value.to_string())))
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<Cell<'de>>()? {
            items.push(item);
        }
        Ok(Cell::List(items))
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut cells = Vec::new();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::F => cells = map.next_value::<Vec<Cell<'de>>>()?,
                Key::V | Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Cell::Record(cells))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_of_every_shape() {
        let body = r#"{"rows":[{"f":[{"v":"a"},{"v":null},{"v":[{"v":"1"},{"v":"2"}]},
            {"v":{"f":[{"v":"x"},{"v":[{"v":{"f":[{"v":"k"}]}}]}]}},{"v":"esc\"aped"}]}],
            "pageToken":"P2","jobComplete":true,"jobReference":{"projectId":"p","jobId":"j","location":"EU"}}"#;
        let page: Page = serde_json::from_str(body).unwrap();
        let row = &page.rows.as_ref().unwrap()[0];
        assert_eq!(row.f[0], Cell::Text(Cow::Borrowed("a")));
        assert!(matches!(row.f[0], Cell::Text(Cow::Borrowed(_))));
        assert_eq!(row.f[1], Cell::Null);
        assert_eq!(
            row.f[2],
            Cell::List(vec![Cell::Text("1".into()), Cell::Text("2".into())])
        );
        assert_eq!(
            row.f[3],
            Cell::Record(vec![
                Cell::Text("x".into()),
                Cell::List(vec![Cell::Record(vec![Cell::Text("k".into())])])
            ])
        );
        assert_eq!(row.f[4], Cell::Text("esc\"aped".into()));
        assert_eq!(page.page_token.as_deref(), Some("P2"));
        assert_eq!(page.job_reference.unwrap().location.as_deref(), Some("EU"));
    }
}
