//! Building list queries: a `WHERE` clause with numbered parameters ([`Where`]), the `ORDER BY`
//! of a sort key, one page with its count ([`page`]) and search by IDs ([`search`]).

use ingest_model::{Order, Pagination};

use crate::db::{Arg, Row, Tx};
use crate::error::StoreResult;
use crate::query::PageRequest;

/// A conjunction of conditions and their arguments, numbered `$1`, `$2`, ... in order.
pub(crate) struct Where {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Where {
    /// `app_id = $1`, plus `deleted_at IS NULL` when `live_only`.
    pub(crate) fn app(app: &str, live_only: bool) -> Self {
        let mut w = Self {
            clauses: Vec::new(),
            args: Vec::new(),
        };
        w.eq("app_id", app);
        if live_only {
            w.raw("deleted_at IS NULL");
        }
        w
    }

    /// Adds an argument; returns its placeholder.
    pub(crate) fn param(&mut self, arg: impl Into<Arg>) -> String {
        self.args.push(arg.into());
        format!("${}", self.args.len())
    }

    /// A condition without arguments.
    pub(crate) fn raw(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    /// `column = value`.
    pub(crate) fn eq(&mut self, column: &str, value: impl Into<Arg>) {
        let p = self.param(value);
        self.raw(format!("{column} = {p}"));
    }

    /// `column op value` (`>=`, `<=`, ...).
    pub(crate) fn cmp(&mut self, column: &str, op: &str, value: impl Into<Arg>) {
        let p = self.param(value);
        self.raw(format!("{column} {op} {p}"));
    }

    /// `column IN (values)`; nothing when `values` is empty (no filter).
    pub(crate) fn any_of<S: Into<String>>(
        &mut self,
        column: &str,
        values: impl IntoIterator<Item = S>,
    ) {
        self.any_of_or_null(column, values, None);
    }

    /// Like [`Where::any_of`], where the value `null_word` (e.g. `none`) selects rows whose
    /// column is NULL.
    pub(crate) fn any_of_or_null<S: Into<String>>(
        &mut self,
        column: &str,
        values: impl IntoIterator<Item = S>,
        null_word: Option<&str>,
    ) {
        let mut placeholders = Vec::new();
        let mut with_null = false;
        for value in values {
            let value = value.into();
            if null_word == Some(value.as_str()) {
                with_null = true;
            } else {
                placeholders.push(self.param(value));
            }
        }
        let mut alternatives = Vec::new();
        if !placeholders.is_empty() {
            alternatives.push(format!("{column} IN ({})", placeholders.join(", ")));
        }
        if with_null {
            alternatives.push(format!("{column} IS NULL"));
        }
        if !alternatives.is_empty() {
            self.raw(format!("({})", alternatives.join(" OR ")));
        }
    }

    /// ` WHERE a AND b ...` (empty without conditions).
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The arguments, in placeholder order.
    pub(crate) fn args(&self) -> Vec<Arg> {
        self.args.clone()
    }
}

/// `ORDER BY` text for a sort expression: ties broken by insertion order in the same direction.
pub(crate) fn order_by(expression: &str, order: Order) -> String {
    let dir = match order {
        Order::Asc => "ASC",
        Order::Desc => "DESC",
    };
    format!("{expression} {dir}, seq {dir}")
}

/// How a page's `nbItems` is found.
#[derive(Clone, Copy)]
pub(crate) enum Count<'a> {
    /// `COUNT(*)` of the matching rows.
    Rows,
    /// The sum of column `n` of the matching rows of a counter table whose columns carry the
    /// filter's names (`run_counts`): the same filter, a few rows to read.
    Counters(&'a str),
}

/// One page of `SELECT columns FROM table WHERE ... ORDER BY ...` and its pagination.
pub(crate) async fn page(
    tx: &mut Tx,
    table: &str,
    columns: &str,
    filter: Where,
    order: &str,
    page: &PageRequest,
) -> StoreResult<(Vec<Row>, Pagination)> {
    page_counted(tx, table, columns, filter, order, page, Count::Rows).await
}

/// [`page`], with its `nbItems` found as `count` says.
pub(crate) async fn page_counted(
    tx: &mut Tx,
    table: &str,
    columns: &str,
    filter: Where,
    order: &str,
    page: &PageRequest,
    count: Count<'_>,
) -> StoreResult<(Vec<Row>, Pagination)> {
    page.validate()?;
    let condition = filter.sql();
    let count_sql = match count {
        Count::Rows => format!("SELECT COUNT(*) FROM {table}{condition}"),
        Count::Counters(counters) => {
            format!("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM {counters}{condition}")
        }
    };
    let nb_items = tx.fetch_count(&count_sql, filter.args()).await?;
    let mut filter = filter;
    let limit = filter.param(page.limit());
    let offset = filter.param(page.offset());
    let rows = tx
        .fetch_all(
            &format!(
                "SELECT {columns} FROM {table}{condition} ORDER BY {order} \
                 LIMIT {limit} OFFSET {offset}"
            ),
            filter.args(),
        )
        .await?;
    Ok((
        rows,
        Pagination::new(page.page, page.items_per_page, nb_items),
    ))
}

/// How many IDs one `IN (...)` holds (well under SQLite's parameter limit).
const SEARCH_CHUNK: usize = 500;

/// The live rows of `table` in `app` among `ids`, in the order of `ids`, each once.
pub(crate) async fn search(
    tx: &mut Tx,
    table: &str,
    columns: &str,
    app: &str,
    ids: &[String],
) -> StoreResult<Vec<(String, Row)>> {
    let mut unique: Vec<&String> = Vec::with_capacity(ids.len());
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if seen.insert(id) {
            unique.push(id);
        }
    }
    let mut found = std::collections::HashMap::new();
    for chunk in unique.chunks(SEARCH_CHUNK) {
        let mut filter = Where::app(app, true);
        filter.any_of("id", chunk.iter().map(|id| id.as_str()));
        let rows = tx
            .fetch_all(
                &format!("SELECT {columns} FROM {table}{}", filter.sql()),
                filter.args(),
            )
            .await?;
        for row in rows {
            found.insert(row.text("id")?, row);
        }
    }
    Ok(unique
        .into_iter()
        .filter_map(|id| found.remove(id).map(|row| (id.clone(), row)))
        .collect())
}
