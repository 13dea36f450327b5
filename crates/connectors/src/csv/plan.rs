//! What a CSV header decides for every row: each column's JSON key, type and role.

use std::collections::HashSet;

use ingest_model::MappingTypeCsv;

use super::decoder::CsvOptions;
use crate::json_text::write_string;

/// One output column, decided once from the header.
#[derive(Debug)]
pub(super) struct Column {
    pub(super) name: String,
    /// `"name":`, preceded by `,` unless it is the first member written.
    pub(super) key: Vec<u8>,
    pub(super) kind: MappingTypeCsv,
    /// A column named `objectID` when `objectID` comes from `uniqueIDColumn`.
    pub(super) skip: bool,
    /// A string column written straight from the row's bytes, in the same pass that finds
    /// where it ends (not the `objectID` source, whose text is needed on its own).
    pub(super) direct: bool,
}

/// The columns of a CSV source and where its records' `objectID` comes from.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) columns: Vec<Column>,
    /// The column written first as `objectID`.
    pub(super) unique_id: Option<usize>,
    /// Without `uniqueIDColumn`, a column named `objectID` gives records their ID.
    pub(super) object_id_column: Option<usize>,
    /// The bytes of every key written, for sizing a record's buffer.
    pub(super) key_bytes: usize,
}

impl Plan {
    /// The plan for the header row whose column names are `names`, or why the header is
    /// unusable.
    pub(super) fn new(names: Vec<String>, options: &CsvOptions) -> Result<Plan, String> {
        let mut seen = HashSet::new();
        for name in &names {
            if !seen.insert(name.as_str()) {
                return Err(format!("the CSV header names column `{name}` twice"));
            }
        }
        for column in options.mapping.keys() {
            if !seen.contains(column.as_str()) {
                return Err(format!(
                    "mapping names column `{column}`, which is not in the CSV header"
                ));
            }
        }
        let unique_id = match &options.unique_id_column {
            Some(unique) => Some(names.iter().position(|name| name == unique).ok_or_else(
                || format!("uniqueIDColumn `{unique}` is not a column of the CSV header"),
            )?),
            None => None,
        };
        let object_id_column = match unique_id {
            Some(_) => None,
            None => names.iter().position(|name| name == "objectID"),
        };
        let id_source = unique_id.or(object_id_column);
        let mut first = unique_id.is_none();
        let columns: Vec<Column> = names
            .into_iter()
            .enumerate()
            .map(|(index, name)| {
                let skip = unique_id.is_some() && name == "objectID";
                let mut key = Vec::with_capacity(name.len() + 4);
                if !skip {
                    if !first {
                        key.push(b',');
                    }
                    first = false;
                }
                write_string(&mut key, name.as_bytes());
                key.push(b':');
                let kind = options
                    .mapping
                    .get(&name)
                    .copied()
                    .unwrap_or(MappingTypeCsv::String);
                let direct = kind == MappingTypeCsv::String && !skip && id_source != Some(index);
                Column {
                    name,
                    key,
                    kind,
                    skip,
                    direct,
                }
            })
            .collect();
        let key_bytes = columns.iter().map(|column| column.key.len()).sum();
        Ok(Plan {
            columns,
            unique_id,
            object_id_column,
            key_bytes,
        })
    }
}
