//! [`StoreError`]: what went wrong, by meaning, so the API can map each case to one status.

use std::fmt;

use ingest_model::ValidationError;

/// A boxed dependency error (database driver, IO), kept as the `source` of a [`StoreError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result of every store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// The kinds of resources the store keeps, as named in error messages (lowercase).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// An authentication.
    Authentication,
    /// A destination.
    Destination,
    /// A source.
    Source,
    /// A task.
    Task,
    /// A run.
    Run,
    /// An event of a run.
    Event,
    /// A transformation.
    Transformation,
}

impl Resource {
    /// The lowercase name used in messages (`authentication`, `task`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Authentication => "authentication",
            Self::Destination => "destination",
            Self::Source => "source",
            Self::Task => "task",
            Self::Run => "run",
            Self::Event => "event",
            Self::Transformation => "transformation",
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a store operation failed. Messages are lowercase, name the resource or field, and never
/// contain a secret or a database error text (the `source` may hold the latter: log it, do not
/// return it to a client).
///
/// Suggested HTTP mapping: `NotFound` 404; `InvalidReference`, `InUse`, `Invalid` 400;
/// `Conflict` 409; `LeaseLost` is for workers only; `Unavailable` 503 and `Internal` 500 with a
/// generic body.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The resource does not exist in this application, or was deleted.
    #[error("{resource} `{id}` not found")]
    NotFound {
        /// The kind of resource looked up.
        resource: Resource,
        /// The ID that was looked up.
        id: String,
    },
    /// A field refers to a resource that is missing, deleted, in another application, or of the
    /// wrong kind. `Display` is `"{field}: {reason}"`, e.g.
    /// ``authenticationID: no authentication `…` in this application``.
    #[error("{field}: {reason}")]
    InvalidReference {
        /// The JSON name of the field (`authenticationID`, `sourceID`, `destinationID`).
        field: &'static str,
        /// Why the reference is refused.
        reason: String,
    },
    /// The resource cannot be deleted (or changed that way) while a live resource uses it
    /// (`docs/api.md` C6): ``source `…` is used by task `…` ``.
    #[error("{resource} `{id}` is used by {used_by} `{user_id}`")]
    InUse {
        /// The resource that was to be deleted or changed.
        resource: Resource,
        /// Its ID.
        id: String,
        /// The kind of resource that uses it.
        used_by: Resource,
        /// The ID of (one of) the resources that use it.
        user_id: String,
    },
    /// The request is invalid against the stored state (an update input that does not fit the
    /// stored type, a `save` task whose source gives no objectID, bad paging). A 400 whose body is
    /// the [`ValidationError`] text.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The run's lease token no longer matches: another worker owns the run now, or it was
    /// requeued or finished. The caller must stop working on it; nothing was changed.
    #[error("lease lost on run `{run_id}`")]
    LeaseLost {
        /// The run.
        run_id: String,
    },
    /// A concurrent change made this one impossible (a uniqueness conflict).
    #[error("conflict: {reason}")]
    Conflict {
        /// What conflicted.
        reason: String,
    },
    /// The database cannot be reached or is overloaded (connection refused, pool timeout, IO
    /// error, database locked). Retry later; the API answers 503 with a generic message.
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// A bug or corrupt data: an unexpected database error, a stored value that does not parse,
    /// a secret that does not decrypt (wrong key). The API answers 500 with a generic message.
    #[error("internal store error: {reason}")]
    Internal {
        /// What went wrong, without secrets.
        reason: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// A [`StoreError::NotFound`].
    pub fn not_found(resource: Resource, id: impl Into<String>) -> Self {
        Self::NotFound {
            resource,
            id: id.into(),
        }
    }

    /// A [`StoreError::Internal`] without a source.
    pub(crate) fn internal(reason: impl Into<String>) -> Self {
        Self::Internal {
            reason: reason.into(),
            source: None,
        }
    }

    /// A [`StoreError::InvalidReference`] for a missing resource.
    pub(crate) fn missing_reference(field: &'static str, resource: Resource, id: &str) -> Self {
        Self::InvalidReference {
            field,
            reason: format!("no {resource} `{id}` in this application"),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match err {
            E::Database(db) if db.is_unique_violation() => Self::Conflict {
                reason: "a resource with the same identity already exists".to_owned(),
            },
            E::Database(db) if is_busy(db.code().as_deref()) => Self::Unavailable(Box::new(db)),
            E::Io(_)
            | E::Tls(_)
            | E::PoolTimedOut
            | E::PoolClosed
            | E::WorkerCrashed
            | E::Protocol(_) => Self::Unavailable(Box::new(err)),
            other => Self::Internal {
                reason: "unexpected database error".to_owned(),
                source: Some(Box::new(other)),
            },
        }
    }
}

/// SQLite `SQLITE_BUSY` (5) / `SQLITE_LOCKED` (6) and their extended codes; PostgreSQL classes
/// 08 (connection), 53 (insufficient resources), 57P (operator intervention: shutdown).
fn is_busy(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    // PostgreSQL SQLSTATEs are 5 characters; SQLite codes are numbers of at most 4 digits whose
    // low byte is the primary code.
    if code.len() < 5
        && let Ok(n) = code.parse::<i32>()
    {
        return matches!(n & 0xff, 5 | 6);
    }
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        match err {
            sqlx::migrate::MigrateError::Execute(e) => Self::from(e),
            other => Self::Internal {
                reason: "database migration failed".to_owned(),
                source: Some(Box::new(other)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_resource_and_field() {
        assert_eq!(
            StoreError::not_found(Resource::Task, "t1").to_string(),
            "task `t1` not found"
        );
        assert_eq!(
            StoreError::missing_reference("sourceID", Resource::Source, "s1").to_string(),
            "sourceID: no source `s1` in this application"
        );
        let in_use = StoreError::InUse {
            resource: Resource::Source,
            id: "s1".into(),
            used_by: Resource::Task,
            user_id: "t1".into(),
        };
        assert_eq!(in_use.to_string(), "source `s1` is used by task `t1`");
        assert!(is_busy(Some("5")) && is_busy(Some("517")) && is_busy(Some("08006")));
        assert!(!is_busy(Some("23505")) && !is_busy(None));
    }
}
