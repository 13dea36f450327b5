//! What a BigQuery source reads, decided from its input before any request.
//!
//! - `customSQLRequest`: that query, with `%s` standing for the table (`` `p.d.t` ``);
//! - `dataType` `ga4` / `ga360`: the daily export tables of the run's date window through the
//!   wildcard table `` `p.d.{prefix}*` `` and `_TABLE_SUFFIX BETWEEN @start AND @end`, plus the
//!   intraday tables (`{prefix}intraday_YYYYMMDD`) of days whose daily table is not there yet;
//! - `table`: that table, read with `tabledata.list` (no query job, no bytes billed), or with a
//!   query when it is a view.

use ingest_model::{BigQueryDataType, SourceBigQuery, Timestamp};
use serde_json::{Value, json};

use crate::source::{ConfigError, DateWindow};

/// The reading plan.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Plan {
    /// Read a table with `tabledata.list`.
    Table {
        /// The table's ID within the dataset.
        table: String,
    },
    /// Run a query (standard SQL) and read its result.
    Query {
        /// The SQL.
        sql: String,
        /// Named query parameters (`queryParameters`).
        parameters: Vec<Value>,
    },
}

/// The plan of `input` over `window`.
pub(crate) fn plan(
    input: &SourceBigQuery,
    window: Option<&DateWindow>,
) -> Result<Plan, ConfigError> {
    check_id("input.projectID", &input.project_id, true)?;
    check_id("input.datasetID", &input.dataset_id, false)?;
    if let Some(table) = &input.table {
        check_id("input.table", table, false)?;
    }
    let qualified = |table: &str| format!("`{}.{}.{table}`", input.project_id, input.dataset_id);
    if let Some(sql) = &input.custom_sql_request {
        let sql = if sql.contains("%s") {
            let Some(table) = &input.table else {
                return Err(config_error(
                    "input.customSQLRequest",
                    "uses %s (the table) but the source names no `table`",
                ));
            };
            sql.replace("%s", &qualified(table))
        } else {
            sql.clone()
        };
        return Ok(Plan::Query {
            sql,
            parameters: Vec::new(),
        });
    }
    if let Some(data_type) = input.data_type {
        let prefix = match (&input.table_prefix, data_type) {
            (Some(prefix), _) => prefix.clone(),
            (None, BigQueryDataType::Ga4) => "events_".to_owned(),
            (None, BigQueryDataType::Ga360) => "ga_sessions_".to_owned(),
        };
        check_id("input.tablePrefix", &prefix, false)?;
        let Some(window) = window else {
            return Err(config_error(
                "input.dataType",
                format!(
                    "a `{}` export is read over a date window: give the task an input ({{startDate, endDate}} or {{timeframe}})",
                    data_type.as_str()
                ),
            ));
        };
        let (start, end) = window_days(window);
        let wildcard = qualified(&format!("{prefix}*"));
        let sql = format!(
            "SELECT * EXCEPT (_ingest_suffix) FROM (\
SELECT *, _TABLE_SUFFIX AS _ingest_suffix FROM {wildcard} \
WHERE _TABLE_SUFFIX BETWEEN @start AND @end \
OR _TABLE_SUFFIX BETWEEN CONCAT('intraday_', @start) AND CONCAT('intraday_', @end)) \
WHERE NOT STARTS_WITH(_ingest_suffix, 'intraday_') \
OR RIGHT(_ingest_suffix, 8) NOT IN (\
SELECT DISTINCT _TABLE_SUFFIX FROM {wildcard} WHERE _TABLE_SUFFIX BETWEEN @start AND @end)"
        );
        let parameter = |name: &str, value: &str| json!({"name": name, "parameterType": {"type": "STRING"}, "parameterValue": {"value": value}});
        return Ok(Plan::Query {
            sql,
            parameters: vec![parameter("start", &start), parameter("end", &end)],
        });
    }
    match &input.table {
        Some(table) => Ok(Plan::Table {
            table: table.clone(),
        }),
        None => Err(config_error(
            "input.table",
            "a bigquery source needs a `table`, a `customSQLRequest` or a `dataType` (ga4, ga360)",
        )),
    }
}

/// The first and last day (`YYYYMMDD`, UTC) of a window whose end is exclusive.
pub(crate) fn window_days(window: &DateWindow) -> (String, String) {
    let last = Timestamp::from_unix(window.end.unix_seconds() - 1, 0).max(window.start);
    (yyyymmdd(&window.start), yyyymmdd(&last))
}

fn yyyymmdd(at: &Timestamp) -> String {
    let (year, month, day) = super::rows::civil_from_days(at.unix_seconds().div_euclid(86_400));
    format!("{year:04}{month:02}{day:02}")
}

fn config_error(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// BigQuery IDs are letters, digits, `_` (and `-`, `.`, `:` in project IDs); anything that could
/// close a backtick-quoted name is refused so that names cannot inject SQL.
fn check_id(field: &str, id: &str, project: bool) -> Result<(), ConfigError> {
    let allowed = |c: char| {
        c.is_alphanumeric()
            || c == '_'
            || c == '-'
            || c == '$'
            || (project && (c == '.' || c == ':'))
    };
    if id.is_empty() || !id.chars().all(allowed) {
        return Err(config_error(
            field,
            format!("`{id}` is not a BigQuery name (letters, digits, `_` and `-` only)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(value: Value) -> SourceBigQuery {
        serde_json::from_value(value).unwrap()
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn a_table_is_read_directly() {
        let plan = plan(
            &input(json!({"projectID": "my-proj", "datasetID": "d", "table": "t"})),
            None,
        );
        assert_eq!(plan.unwrap(), Plan::Table { table: "t".into() });
    }

    #[test]
    fn custom_sql_names_the_table_with_percent_s() {
        let source = input(json!({"projectID": "p", "datasetID": "d", "table": "t",
                                  "customSQLRequest": "SELECT a FROM %s WHERE b"}));
        let Plan::Query { sql, .. } = plan(&source, None).unwrap() else {
            panic!()
        };
        assert_eq!(sql, "SELECT a FROM `p.d.t` WHERE b");
        let source =
            input(json!({"projectID": "p", "datasetID": "d", "customSQLRequest": "SELECT %s"}));
        assert_eq!(
            plan(&source, None).unwrap_err().field,
            "input.customSQLRequest"
        );
    }

    #[test]
    fn ga4_reads_the_window_days_with_parameters() {
        let source =
            input(json!({"projectID": "my-proj", "datasetID": "analytics_1", "dataType": "ga4"}));
        let window = DateWindow {
            start: at("2024-06-01T00:00:00Z"),
            end: at("2024-07-01T00:00:00Z"),
        };
        let Plan::Query { sql, parameters } = plan(&source, Some(&window)).unwrap() else {
            panic!()
        };
        assert!(
            sql.contains(
                "FROM `my-proj.analytics_1.events_*` WHERE _TABLE_SUFFIX BETWEEN @start AND @end"
            ),
            "{sql}"
        );
        assert!(sql.contains("CONCAT('intraday_', @start)"), "{sql}");
        assert_eq!(parameters[0]["parameterValue"]["value"], "20240601");
        assert_eq!(parameters[1]["parameterValue"]["value"], "20240630");
        let error = plan(&source, None).unwrap_err();
        assert_eq!(error.field, "input.dataType");
        let ga360 = input(json!({"projectID": "p", "datasetID": "1", "dataType": "ga360"}));
        let Plan::Query { sql, .. } = plan(&ga360, Some(&window)).unwrap() else {
            panic!()
        };
        assert!(sql.contains("`p.1.ga_sessions_*`"), "{sql}");
    }

    #[test]
    fn window_ends_are_exclusive() {
        let window = DateWindow {
            start: at("2024-06-01T10:00:00Z"),
            end: at("2024-06-02T00:00:00Z"),
        };
        assert_eq!(window_days(&window), ("20240601".into(), "20240601".into()));
        let window = DateWindow {
            start: at("2024-06-01T10:00:00Z"),
            end: at("2024-06-02T00:00:01Z"),
        };
        assert_eq!(window_days(&window), ("20240601".into(), "20240602".into()));
    }

    #[test]
    fn names_cannot_escape_their_quotes() {
        let source = input(json!({"projectID": "p", "datasetID": "d", "table": "t` WHERE 1=1 --"}));
        assert_eq!(plan(&source, None).unwrap_err().field, "input.table");
        let source = input(
            json!({"projectID": "p", "datasetID": "d", "dataType": "ga4", "tablePrefix": "x`"}),
        );
        assert_eq!(plan(&source, None).unwrap_err().field, "input.tablePrefix");
    }
}
