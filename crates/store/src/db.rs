//! The thin layer under every query: one SQL text for both databases (`$n` parameters, which
//! SQLite understands too), a transaction over either backend ([`Tx`]), owned arguments
//! ([`Arg`]) and typed column reads ([`Row`]). Resource modules only see this layer.

use ingest_model::Timestamp;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{AssertSqlSafe, Postgres, Row as _, Sqlite, Transaction};

use crate::{StoreError, StoreResult};

/// A bound parameter.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Self::Text(Some(v.to_owned()))
    }
}

impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Self::Text(Some(v.clone()))
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Self::Text(v.map(str::to_owned))
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Self::Bool(Some(v))
    }
}

impl From<Option<bool>> for Arg {
    fn from(v: Option<bool>) -> Self {
        Self::Bool(v)
    }
}

impl From<Timestamp> for Arg {
    fn from(v: Timestamp) -> Self {
        Self::Int(Some(millis(v)))
    }
}

impl From<Option<Timestamp>> for Arg {
    fn from(v: Option<Timestamp>) -> Self {
        Self::Int(v.map(millis))
    }
}

/// `args![a, b, ...]`: a `Vec<Arg>` from values convertible into [`Arg`].
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::db::Arg::from($value)),*]
    };
}
pub(crate) use args;

/// Milliseconds since the epoch of a timestamp (what the database stores).
pub(crate) fn millis(t: Timestamp) -> i64 {
    t.unix_seconds()
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos() / 1_000_000))
}

/// The timestamp of a stored millisecond count.
pub(crate) fn timestamp(ms: i64) -> Timestamp {
    let nanos = u32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0);
    Timestamp::from_unix(ms.div_euclid(1000), nanos)
}

/// RFC 3339 of a stored millisecond count, as the API returns it.
pub(crate) fn rfc3339(ms: i64) -> String {
    timestamp(ms).to_rfc3339()
}

/// The connection pools of a store.
#[derive(Debug, Clone)]
pub(crate) enum Pools {
    /// One writer connection (writes queue in the pool instead of failing busy) and readers.
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
    },
    Postgres(PgPool),
}

impl Pools {
    /// A transaction that will write. SQLite takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so a read-then-write never fails half-way on a lock upgrade.
    pub(crate) async fn write(&self) -> StoreResult<Tx> {
        Ok(match self {
            Self::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// A read-only transaction (one consistent snapshot on SQLite for a count and its page).
    pub(crate) async fn read(&self) -> StoreResult<Tx> {
        Ok(match self {
            Self::Sqlite { read, .. } => Tx::Sqlite(read.begin().await?),
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Closes every connection.
    pub(crate) async fn close(&self) {
        match self {
            Self::Sqlite { write, read } => {
                write.close().await;
                read.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// A transaction on either backend. Dropped without [`Tx::commit`], it rolls back.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Refuses text holding a NUL character: PostgreSQL cannot store one, so neither backend takes
/// it (the two must behave alike).
fn check_text(args: &[Arg]) -> StoreResult<()> {
    let has_nul = args
        .iter()
        .any(|a| matches!(a, Arg::Text(Some(t)) if t.contains('\0')));
    if has_nul {
        return Err(ingest_model::ValidationError::here(
            "text values must not contain NUL characters",
        )
        .into());
    }
    Ok(())
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        check_text(&$args)?;
        let mut q = $query;
        for arg in $args {
            q = match arg {
                Arg::Text(v) => q.bind(v),
                Arg::Int(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
            };
        }
        q
    }};
}

impl Tx {
    /// `" FOR SHARE"` on PostgreSQL, to lock a referenced row against a concurrent delete until
    /// commit; nothing on SQLite, where write transactions are serialized anyway.
    pub(crate) fn for_share(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "",
            Self::Postgres(_) => " FOR SHARE",
        }
    }

    /// `" FOR UPDATE"` on PostgreSQL (see [`Tx::for_share`]).
    pub(crate) fn for_update(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "",
            Self::Postgres(_) => " FOR UPDATE",
        }
    }

    /// Whether this is a PostgreSQL transaction.
    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// Every row of a query.
    pub(crate) async fn fetch_all(&mut self, sql: &str, args: Vec<Arg>) -> StoreResult<Vec<Row>> {
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(match self {
            Self::Sqlite(tx) => bind_all!(sqlx::query::<Sqlite>(sql), args)
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Self::Postgres(tx) => bind_all!(sqlx::query::<Postgres>(sql), args)
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }

    /// The first row of a query, if any.
    pub(crate) async fn fetch_optional(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
    ) -> StoreResult<Option<Row>> {
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(match self {
            Self::Sqlite(tx) => bind_all!(sqlx::query::<Sqlite>(sql), args)
                .fetch_optional(&mut **tx)
                .await?
                .map(Row::Sqlite),
            Self::Postgres(tx) => bind_all!(sqlx::query::<Postgres>(sql), args)
                .fetch_optional(&mut **tx)
                .await?
                .map(Row::Postgres),
        })
    }

    /// Runs a statement; returns the number of rows it changed.
    pub(crate) async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> StoreResult<u64> {
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(match self {
            Self::Sqlite(tx) => bind_all!(sqlx::query::<Sqlite>(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Self::Postgres(tx) => bind_all!(sqlx::query::<Postgres>(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    /// A single integer (`SELECT COUNT(*) ...`).
    pub(crate) async fn fetch_count(&mut self, sql: &str, args: Vec<Arg>) -> StoreResult<u64> {
        let row = self
            .fetch_optional(sql, args)
            .await?
            .ok_or_else(|| StoreError::internal("a count returned no row"))?;
        let n = row.int_at(0)?;
        u64::try_from(n).map_err(|_| StoreError::internal("a negative count"))
    }

    /// Commits.
    pub(crate) async fn commit(self) -> StoreResult<()> {
        match self {
            Self::Sqlite(tx) => tx.commit().await?,
            Self::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// A result row of either backend, read by column name.
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

fn decode_error(column: &str, err: sqlx::Error) -> StoreError {
    StoreError::Internal {
        reason: format!("cannot read column `{column}`"),
        source: Some(Box::new(err)),
    }
}

macro_rules! getter {
    ($name:ident, $ty:ty) => {
        pub(crate) fn $name(&self, column: &str) -> StoreResult<$ty> {
            match self {
                Self::Sqlite(r) => r.try_get::<$ty, _>(column),
                Self::Postgres(r) => r.try_get::<$ty, _>(column),
            }
            .map_err(|e| decode_error(column, e))
        }
    };
}

impl Row {
    getter!(text, String);
    getter!(opt_text, Option<String>);
    getter!(int, i64);
    getter!(opt_int, Option<i64>);
    getter!(flag, bool);
    getter!(opt_flag, Option<bool>);

    fn int_at(&self, index: usize) -> StoreResult<i64> {
        match self {
            Self::Sqlite(r) => r.try_get::<i64, _>(index),
            Self::Postgres(r) => r.try_get::<i64, _>(index),
        }
        .map_err(|e| decode_error("0", e))
    }

    /// An optional timestamp column, as RFC 3339.
    pub(crate) fn opt_time(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.opt_int(column)?.map(rfc3339))
    }

    /// A timestamp column, as RFC 3339.
    pub(crate) fn time(&self, column: &str) -> StoreResult<String> {
        Ok(rfc3339(self.int(column)?))
    }

    /// A text column holding one of the API's enums.
    pub(crate) fn parsed<T: std::str::FromStr>(&self, column: &str) -> StoreResult<T> {
        let text = self.text(column)?;
        text.parse()
            .map_err(|_| StoreError::internal(format!("unexpected `{column}` value `{text}`")))
    }

    /// An optional text column holding one of the API's enums.
    pub(crate) fn opt_parsed<T: std::str::FromStr>(&self, column: &str) -> StoreResult<Option<T>> {
        match self.opt_text(column)? {
            None => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| StoreError::internal(format!("unexpected `{column}` value `{text}`"))),
        }
    }

    /// A text column holding JSON.
    pub(crate) fn json(&self, column: &str) -> StoreResult<serde_json::Value> {
        let text = self.text(column)?;
        serde_json::from_str(&text)
            .map_err(|_| StoreError::internal(format!("column `{column}` holds invalid JSON")))
    }

    /// A text column holding the JSON of a `T`.
    pub(crate) fn json_as<T: serde::de::DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        from_json(column, self.json(column)?)
    }
}

/// The `T` a JSON value of `column` holds.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    column: &str,
    value: serde_json::Value,
) -> StoreResult<T> {
    serde_json::from_value(value)
        .map_err(|_| StoreError::internal(format!("column `{column}` holds an unexpected value")))
}

/// A new resource ID: a UUID v4 string.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip() {
        for s in [
            "2023-07-01T12:00:00.123Z",
            "1969-12-31T23:59:59.999Z",
            "1970-01-01T00:00:00.000Z",
        ] {
            let t = Timestamp::parse(s).unwrap();
            assert_eq!(rfc3339(millis(t)), s);
            assert_eq!(timestamp(millis(t)), t);
        }
        assert_eq!(
            millis(Timestamp::parse("1970-01-01T00:00:01Z").unwrap()),
            1000
        );
    }
}
