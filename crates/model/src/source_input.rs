//! The `input` of a source, one struct per connector, chosen by the source's `type` (`docs/api.md` A6).
//!
//! The spec's oneOf has no discriminator inside the object, so [`SourceInput::parse`] takes the
//! type from the enclosing source. Each struct validates its own fields while parsing (required
//! fields, unknown fields, CSV delimiter, commercetools locales, non-blank URLs); serializing one
//! gives the input object alone, with unset optional fields left out.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::parse::{
    from_value, non_empty, opt_non_empty, opt_url_keys, source_url, store_hash, url_key,
};
use crate::{BigQueryDataType, MappingTypeCsv, MethodType, SourceType, ValidationError};

/// `commercetools` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a commercetools input object")]
pub struct SourceCommercetools {
    /// `storeKeys`: one pass per store when set.
    #[serde(
        rename = "storeKeys",
        default,
        deserialize_with = "opt_url_keys",
        skip_serializing_if = "Option::is_none"
    )]
    pub store_keys: Option<Vec<String>>,
    /// `locales`, each matching `^[a-z]{2}(-[A-Z]{2})?$`.
    #[serde(
        default,
        deserialize_with = "opt_locales",
        skip_serializing_if = "Option::is_none"
    )]
    pub locales: Option<Vec<String>>,
    /// `url`: the API host (required).
    #[serde(deserialize_with = "source_url")]
    pub url: String,
    /// `projectKey` (required).
    #[serde(rename = "projectKey", deserialize_with = "url_key")]
    pub project_key: String,
    /// `productQueryPredicate`: a commercetools query predicate (`where`) every product must
    /// match (`docs/api.md` D3).
    #[serde(
        rename = "productQueryPredicate",
        default,
        deserialize_with = "opt_non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub product_query_predicate: Option<String>,
}

/// `bigcommerce` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a bigcommerce input object")]
pub struct SourceBigCommerce {
    /// `storeHash`: names the store (required: the 2023 spec lists `store_hash` by mistake).
    #[serde(rename = "storeHash", deserialize_with = "store_hash")]
    pub store_hash: String,
    /// `channel`: only products of that channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<BigCommerceChannel>,
}

/// The BigCommerce channel of a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a channel object")]
pub struct BigCommerceChannel {
    /// `id` (required).
    pub id: u64,
    /// `currencies`: lowercase ISO codes such as `usd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currencies: Option<Vec<String>>,
}

/// `json` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a json input object")]
pub struct SourceJson {
    /// `url` (required).
    #[serde(deserialize_with = "source_url")]
    pub url: String,
    /// `uniqueIDColumn`: the attribute whose value becomes `objectID`.
    #[serde(
        rename = "uniqueIDColumn",
        default,
        deserialize_with = "opt_non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub unique_id_column: Option<String>,
    /// `method`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<MethodType>,
}

impl SourceJson {
    /// The HTTP method, `GET` when unset.
    pub fn method(&self) -> MethodType {
        self.method.unwrap_or(MethodType::Get)
    }
}

/// `csv` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a csv input object")]
pub struct SourceCsv {
    /// `url` (required).
    #[serde(deserialize_with = "source_url")]
    pub url: String,
    /// `uniqueIDColumn`: the column whose value becomes `objectID`.
    #[serde(
        rename = "uniqueIDColumn",
        default,
        deserialize_with = "opt_non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub unique_id_column: Option<String>,
    /// `mapping`: column → type; unmapped columns are strings. Left out when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mapping: BTreeMap<String, MappingTypeCsv>,
    /// `method`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<MethodType>,
    /// `delimiter`: one ASCII character, see [`parse_delimiter`].
    #[serde(
        default,
        deserialize_with = "opt_delimiter",
        skip_serializing_if = "Option::is_none"
    )]
    pub delimiter: Option<String>,
}

impl SourceCsv {
    /// The HTTP method, `GET` when unset.
    pub fn method(&self) -> MethodType {
        self.method.unwrap_or(MethodType::Get)
    }

    /// The delimiter byte, `b','` when unset. A parsed input always has a valid delimiter; one
    /// built by hand with an invalid delimiter also gets `b','` (check it with
    /// [`parse_delimiter`]).
    pub fn delimiter_byte(&self) -> u8 {
        self.delimiter
            .as_deref()
            .and_then(|d| parse_delimiter(d).ok())
            .unwrap_or(b',')
    }
}

/// `bigquery` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a bigquery input object")]
pub struct SourceBigQuery {
    /// `projectID` (required).
    #[serde(rename = "projectID", deserialize_with = "non_empty")]
    pub project_id: String,
    /// `datasetID` (required).
    #[serde(rename = "datasetID", deserialize_with = "non_empty")]
    pub dataset_id: String,
    /// `dataType`: a Google Analytics export.
    #[serde(rename = "dataType", default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<BigQueryDataType>,
    /// `table`: a plain table.
    #[serde(
        default,
        deserialize_with = "opt_non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub table: Option<String>,
    /// `tablePrefix`: the prefix of Google Analytics daily tables.
    #[serde(
        rename = "tablePrefix",
        default,
        deserialize_with = "opt_non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub table_prefix: Option<String>,
    /// `customSQLRequest`: a custom extraction query.
    #[serde(
        rename = "customSQLRequest",
        default,
        deserialize_with = "opt_non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_sql_request: Option<String>,
    /// `uniqueIDColumn`: the column whose value becomes `objectID` (`docs/api.md` C20).
    #[serde(
        rename = "uniqueIDColumn",
        default,
        deserialize_with = "opt_non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub unique_id_column: Option<String>,
}

/// `ga4BigqueryExport` input: a Google Analytics 4 export, stored as a `bigquery` input with
/// `dataType: ga4`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a ga4BigqueryExport input object")]
struct SourceGa4Export {
    #[serde(rename = "projectID", deserialize_with = "non_empty")]
    project_id: String,
    #[serde(rename = "datasetID", deserialize_with = "non_empty")]
    dataset_id: String,
    #[serde(rename = "tablePrefix", deserialize_with = "non_empty")]
    table_prefix: String,
}

impl From<SourceGa4Export> for SourceBigQuery {
    fn from(ga4: SourceGa4Export) -> Self {
        SourceBigQuery {
            project_id: ga4.project_id,
            dataset_id: ga4.dataset_id,
            data_type: Some(BigQueryDataType::Ga4),
            table: None,
            table_prefix: Some(ga4.table_prefix),
            custom_sql_request: None,
            unique_id_column: None,
        }
    }
}

/// `push` input: nothing (records arrive through the push routes); an empty object is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an empty object: a push source has no input"
)]
pub struct SourcePush {}

/// `algoliaIndex` input: an index of the destination's application, browsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an algoliaIndex input object")]
pub struct SourceAlgoliaIndex {
    /// `indexName` (required).
    #[serde(rename = "indexName", deserialize_with = "non_empty")]
    pub index_name: String,
    /// `filters`: passed to `browse` as is.
    #[serde(
        default,
        deserialize_with = "opt_non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub filters: Option<String>,
}

/// The `algoliaIndex` part a PATCH may change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an algoliaIndex update object")]
pub struct SourceUpdateAlgoliaIndex {
    /// `indexName`.
    #[serde(
        rename = "indexName",
        default,
        deserialize_with = "opt_non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub index_name: Option<String>,
    /// `filters`.
    #[serde(
        default,
        deserialize_with = "opt_non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub filters: Option<String>,
}

/// The refusal of a source type this engine cannot run (`docs/api.md` D3).
fn unsupported(kind: SourceType) -> ValidationError {
    ValidationError::new(
        "type",
        format!("`{kind}` sources are not supported by this engine"),
    )
}

/// The input of a source: one variant per [`SourceType`]. Serializes to the input object alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SourceInput {
    /// `commercetools`.
    Commercetools(SourceCommercetools),
    /// `bigcommerce`.
    BigCommerce(SourceBigCommerce),
    /// `json`.
    Json(SourceJson),
    /// `csv`.
    Csv(SourceCsv),
    /// `bigquery` (and `ga4BigqueryExport`, stored as `bigquery`).
    BigQuery(SourceBigQuery),
    /// `push`.
    Push(SourcePush),
    /// `algoliaIndex`.
    AlgoliaIndex(SourceAlgoliaIndex),
}

impl SourceInput {
    /// Parses the `input` object of a source of type `kind`. Errors name the field relative to
    /// the input (`delimiter: must be one character`); prefix them with `input`. A
    /// `ga4BigqueryExport` input becomes a `bigquery` one; `shopify` and `docker` are refused
    /// (path `type`: do not prefix that one).
    pub fn parse(kind: SourceType, input: &Value) -> Result<Self, ValidationError> {
        Ok(match kind {
            SourceType::Commercetools => Self::Commercetools(from_value(input)?),
            SourceType::BigCommerce => Self::BigCommerce(from_value(input)?),
            SourceType::Json => Self::Json(from_value(input)?),
            SourceType::Csv => Self::Csv(from_value(input)?),
            SourceType::BigQuery => Self::BigQuery(from_value(input)?),
            SourceType::Ga4BigqueryExport => {
                Self::BigQuery(from_value::<SourceGa4Export>(input)?.into())
            }
            SourceType::Push => Self::Push(from_value(input)?),
            SourceType::AlgoliaIndex => Self::AlgoliaIndex(from_value(input)?),
            SourceType::Shopify | SourceType::Docker => return Err(unsupported(kind)),
        })
    }

    /// Whether a source of type `kind` may be created without an `input` (`push`).
    pub fn is_optional(kind: SourceType) -> bool {
        kind == SourceType::Push
    }

    /// The source type this input belongs to (`bigquery` for a `ga4BigqueryExport` input).
    pub fn source_type(&self) -> SourceType {
        match self {
            Self::Commercetools(_) => SourceType::Commercetools,
            Self::BigCommerce(_) => SourceType::BigCommerce,
            Self::Json(_) => SourceType::Json,
            Self::Csv(_) => SourceType::Csv,
            Self::BigQuery(_) => SourceType::BigQuery,
            Self::Push(_) => SourceType::Push,
            Self::AlgoliaIndex(_) => SourceType::AlgoliaIndex,
        }
    }

    /// Whether this is a push source's (empty) input, which responses leave out.
    pub fn is_push(&self) -> bool {
        matches!(self, Self::Push(_))
    }

    /// The `uniqueIDColumn` of a JSON, CSV or BigQuery input.
    pub fn unique_id_column(&self) -> Option<&str> {
        match self {
            Self::Json(s) => s.unique_id_column.as_deref(),
            Self::Csv(s) => s.unique_id_column.as_deref(),
            Self::BigQuery(s) => s.unique_id_column.as_deref(),
            Self::Commercetools(_)
            | Self::BigCommerce(_)
            | Self::Push(_)
            | Self::AlgoliaIndex(_) => None,
        }
    }

    /// Whether the records of this source carry an `objectID`: always for the platforms (their
    /// IDs), an Algolia index (its records') and pushes (each pushed record needs one); only with
    /// `uniqueIDColumn` otherwise. A `save` task needs it (`docs/api.md` C8).
    pub fn provides_object_ids(&self) -> bool {
        matches!(
            self,
            Self::Commercetools(_) | Self::BigCommerce(_) | Self::Push(_) | Self::AlgoliaIndex(_)
        ) || self.unique_id_column().is_some()
    }

    /// This input with `update` applied: the commercetools update replaces `storeKeys` and
    /// `locales` when given; the other variants replace the whole input. An update of another
    /// type is an error (it cannot come from [`SourceUpdateInput::parse`] with the stored type).
    pub fn updated(self, update: SourceUpdateInput) -> Result<Self, ValidationError> {
        match (self, update) {
            (Self::Commercetools(mut current), SourceUpdateInput::Commercetools(u)) => {
                if u.store_keys.is_some() {
                    current.store_keys = u.store_keys;
                }
                if u.locales.is_some() {
                    current.locales = u.locales;
                }
                Ok(Self::Commercetools(current))
            }
            (Self::Json(_), SourceUpdateInput::Json(new)) => Ok(Self::Json(new)),
            (Self::Csv(_), SourceUpdateInput::Csv(new)) => Ok(Self::Csv(new)),
            (Self::BigQuery(_), SourceUpdateInput::BigQuery(new)) => Ok(Self::BigQuery(new)),
            (Self::AlgoliaIndex(mut current), SourceUpdateInput::AlgoliaIndex(u)) => {
                if let Some(index_name) = u.index_name {
                    current.index_name = index_name;
                }
                if u.filters.is_some() {
                    current.filters = u.filters;
                }
                Ok(Self::AlgoliaIndex(current))
            }
            (current, _) => Err(ValidationError::here(format!(
                "does not fit a {} source",
                current.source_type()
            ))),
        }
    }
}

/// The commercetools part a PATCH may change: `storeKeys` and `locales` only.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a commercetools update object")]
pub struct SourceUpdateCommercetools {
    /// `storeKeys`.
    #[serde(
        rename = "storeKeys",
        default,
        deserialize_with = "opt_url_keys",
        skip_serializing_if = "Option::is_none"
    )]
    pub store_keys: Option<Vec<String>>,
    /// `locales`, each matching `^[a-z]{2}(-[A-Z]{2})?$`.
    #[serde(
        default,
        deserialize_with = "opt_locales",
        skip_serializing_if = "Option::is_none"
    )]
    pub locales: Option<Vec<String>>,
}

/// The `input` of a source PATCH, chosen by the stored source type. BigCommerce has no update
/// variant in this API version; JSON, CSV and BigQuery take the full input again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SourceUpdateInput {
    /// `commercetools`: `{storeKeys, locales}`.
    Commercetools(SourceUpdateCommercetools),
    /// `json`: the full input.
    Json(SourceJson),
    /// `csv`: the full input.
    Csv(SourceCsv),
    /// `bigquery`: the full input.
    BigQuery(SourceBigQuery),
    /// `algoliaIndex`: `{indexName?, filters?}`.
    AlgoliaIndex(SourceUpdateAlgoliaIndex),
}

impl SourceUpdateInput {
    /// Parses the update `input` of a source of type `kind` (errors relative to the input).
    pub fn parse(kind: SourceType, input: &Value) -> Result<Self, ValidationError> {
        Ok(match kind {
            SourceType::Commercetools => Self::Commercetools(from_value(input)?),
            SourceType::BigCommerce => {
                return Err(ValidationError::here(
                    "cannot be updated on a bigcommerce source",
                ));
            }
            SourceType::Json => Self::Json(from_value(input)?),
            SourceType::Csv => Self::Csv(from_value(input)?),
            SourceType::BigQuery => Self::BigQuery(from_value(input)?),
            SourceType::AlgoliaIndex => Self::AlgoliaIndex(from_value(input)?),
            SourceType::Push => {
                return Err(ValidationError::here(
                    "a push source has no input to update",
                ));
            }
            SourceType::Ga4BigqueryExport | SourceType::Shopify | SourceType::Docker => {
                return Err(unsupported(kind));
            }
        })
    }
}

/// Checks a CSV `delimiter` and returns its byte: exactly one ASCII character, not `\r`, `\n`,
/// space or U+FFFD (`\t` is fine). The error is the message for the `delimiter` field.
pub fn parse_delimiter(delimiter: &str) -> Result<u8, String> {
    let mut chars = delimiter.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return Err("must be one character".to_owned());
    };
    match c {
        '\r' | '\n' => Err("must not be a line break".to_owned()),
        ' ' => Err("must not be a space".to_owned()),
        '\u{FFFD}' => Err("must not be U+FFFD (the replacement character)".to_owned()),
        c if !c.is_ascii() => Err(format!(
            "must be an ASCII character, got `{c}` (U+{:04X})",
            u32::from(c)
        )),
        c => u8::try_from(c).map_err(|_| "must be an ASCII character".to_owned()),
    }
}

fn opt_delimiter<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) => match parse_delimiter(&s) {
            Ok(_) => Ok(Some(s)),
            Err(message) => Err(D::Error::custom(message)),
        },
        None => Ok(None),
    }
}

/// Whether `locale` matches `^[a-z]{2}(-[A-Z]{2})?$` (`en`, `fr-FR`).
pub fn is_valid_locale(locale: &str) -> bool {
    match locale.as_bytes() {
        [a, b] => a.is_ascii_lowercase() && b.is_ascii_lowercase(),
        [a, b, b'-', c, d] => {
            a.is_ascii_lowercase()
                && b.is_ascii_lowercase()
                && c.is_ascii_uppercase()
                && d.is_ascii_uppercase()
        }
        _ => false,
    }
}

/// A locale string, validated as it is read so the error lands on `locales[i]`.
struct Locale(String);

impl<'de> Deserialize<'de> for Locale {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if !is_valid_locale(&s) {
            return Err(D::Error::custom(format!(
                "must be a locale such as `en` or `fr-FR` (^[a-z]{{2}}(-[A-Z]{{2}})?$), got `{s}`"
            )));
        }
        Ok(Self(s))
    }
}

fn opt_locales<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let locales = Option::<Vec<Locale>>::deserialize(d)?;
    Ok(locales.map(|v| v.into_iter().map(|l| l.0).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(parse_delimiter(","), Ok(b','));
        assert_eq!(parse_delimiter("\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("|"), Ok(b'|'));
        assert_eq!(parse_delimiter("").unwrap_err(), "must be one character");
        assert_eq!(parse_delimiter(",,").unwrap_err(), "must be one character");
        assert_eq!(
            parse_delimiter("\r").unwrap_err(),
            "must not be a line break"
        );
        assert_eq!(
            parse_delimiter("\n").unwrap_err(),
            "must not be a line break"
        );
        assert_eq!(parse_delimiter(" ").unwrap_err(), "must not be a space");
        assert!(parse_delimiter("\u{FFFD}").unwrap_err().contains("U+FFFD"));
        assert_eq!(
            parse_delimiter("é").unwrap_err(),
            "must be an ASCII character, got `é` (U+00E9)"
        );
    }

    #[test]
    fn locales() {
        for ok in ["en", "fr-FR", "de"] {
            assert!(is_valid_locale(ok), "{ok}");
        }
        for bad in [
            "", "e", "EN", "en-us", "en_US", "eng", "en-USA", "fr-FR ", "é",
        ] {
            assert!(!is_valid_locale(bad), "{bad}");
        }
    }

    #[test]
    fn defaults() {
        let csv: SourceCsv = from_value(&serde_json::json!({"url": "http://x"})).unwrap();
        assert_eq!(csv.delimiter_byte(), b',');
        assert_eq!(csv.method(), MethodType::Get);
        let bad = SourceCsv {
            delimiter: Some("ab".into()),
            ..csv
        };
        assert_eq!(bad.delimiter_byte(), b',');
    }

    #[test]
    fn urls_with_credentials_are_refused_with_a_pointer_to_basic() {
        for bad in [
            "https://user:pw@example.com/data.csv",
            "http://user@example.com",
            "https://u:p@h:8443?x=1",
        ] {
            let error = SourceInput::parse(SourceType::Csv, &serde_json::json!({"url": bad}))
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("url: "), "{error}");
            assert!(error.contains("use a `basic` authentication"), "{error}");
        }
        for good in [
            "https://example.com/a@b.csv",
            "https://example.com/data.csv?email=a@b.c",
            "./local@file.csv",
        ] {
            assert!(
                SourceInput::parse(SourceType::Json, &serde_json::json!({"url": good})).is_ok(),
                "{good}"
            );
        }
    }
}
