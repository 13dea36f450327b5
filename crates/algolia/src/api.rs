//! [`IndexingApi`]: the Algolia calls the pusher makes, as a seam between the pusher and HTTP.
//!
//! [`crate::HttpIndexingApi`] makes them over the transport; the `testkit` fake makes them in
//! memory. Waiting for a task is written once, over [`IndexingApi::task_status`].

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

use crate::AlgoliaError;
use crate::concurrency::{Pacer, Permit, signal_of};

/// An Algolia task ID (what a write returns and `getTask` polls).
pub type TaskId = u64;

/// What a scoped copy carries over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Index settings.
    Settings,
    /// Synonyms.
    Synonyms,
    /// Query rules.
    Rules,
}

impl Scope {
    /// Every scope: what `replace` copies to its temporary index.
    pub const ALL: [Scope; 3] = [Scope::Settings, Scope::Synonyms, Scope::Rules];

    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Settings => "settings",
            Self::Synonyms => "synonyms",
            Self::Rules => "rules",
        }
    }

    /// Parses the API's name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "settings" => Some(Self::Settings),
            "synonyms" => Some(Self::Synonyms),
            "rules" => Some(Self::Rules),
            _ => None,
        }
    }
}

/// `POST /1/indexes/{index}/operation`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Copies the index onto `destination`: only `scope` when given, else everything.
    Copy {
        /// The target index (overwritten).
        destination: String,
        /// What to copy; empty copies records, settings, synonyms and rules.
        scope: Vec<Scope>,
    },
    /// Moves the index onto `destination` (an atomic rename; the source disappears).
    Move {
        /// The target index (overwritten).
        destination: String,
    },
}

impl Operation {
    /// The request body.
    pub fn to_json(&self) -> Bytes {
        let value = match self {
            Self::Copy { destination, scope } if scope.is_empty() => serde_json::json!({
                "operation": "copy", "destination": destination,
            }),
            Self::Copy { destination, scope } => serde_json::json!({
                "operation": "copy",
                "destination": destination,
                "scope": scope.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            }),
            Self::Move { destination } => serde_json::json!({
                "operation": "move", "destination": destination,
            }),
        };
        Bytes::from(value.to_string())
    }
}

/// `getTask`'s answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    /// Applied: visible to searches.
    Published,
    /// Accepted, not applied yet.
    NotPublished,
}

/// What a batch call returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchResponse {
    /// The task to wait for.
    pub task_id: TaskId,
    /// Why each failed attempt before the successful one was retried (empty when none was).
    pub retries: Vec<String>,
}

/// The Algolia calls behind the pusher.
pub trait IndexingApi: Send + Sync {
    /// `POST /1/indexes/{index}/batch` with `body` (sent as is, and the same bytes on a retry).
    /// `idempotent` is false when some record has no `objectID`: such a body is never resent
    /// after a timeout.
    fn batch(
        &self,
        index: &str,
        body: Bytes,
        idempotent: bool,
    ) -> impl Future<Output = Result<BatchResponse, AlgoliaError>> + Send;

    /// [`IndexingApi::batch`] under `permit`, telling its window how the call went. By default
    /// once the call is over; an implementation that retries (the HTTP one) tells it after each
    /// attempt, so that a 429 shrinks the window before its `Retry-After` is waited out.
    fn batch_paced(
        &self,
        index: &str,
        body: Bytes,
        idempotent: bool,
        permit: &Permit,
    ) -> impl Future<Output = Result<BatchResponse, AlgoliaError>> + Send {
        async move {
            let started = tokio::time::Instant::now();
            let result = self.batch(index, body, idempotent).await;
            let retries = result.as_ref().map(|r| r.retries.as_slice());
            permit.observe(signal_of(retries, Some(started.elapsed())));
            result
        }
    }

    /// `POST /1/indexes/{index}/operation`.
    fn operation(
        &self,
        index: &str,
        operation: &Operation,
    ) -> impl Future<Output = Result<TaskId, AlgoliaError>> + Send;

    /// `GET /1/indexes/{index}/task/{task_id}`.
    fn task_status(
        &self,
        index: &str,
        task_id: TaskId,
    ) -> impl Future<Output = Result<TaskStatus, AlgoliaError>> + Send;

    /// `DELETE /1/indexes/{index}`.
    fn delete_index(
        &self,
        index: &str,
    ) -> impl Future<Output = Result<TaskId, AlgoliaError>> + Send;
}

/// How long to wait for a task: the official `waitForTask` loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitPolicy {
    /// Polls before giving up (the official default is 100; `replaceAllObjects` uses 800).
    pub max_polls: u32,
    /// The delay after the n-th unpublished poll is `min(n × step, max_delay)`.
    pub step: Duration,
    /// The longest delay between polls.
    pub max_delay: Duration,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        Self {
            max_polls: 800,
            step: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl WaitPolicy {
    /// The delay after `polls` unpublished answers.
    pub fn delay(&self, polls: u32) -> Duration {
        self.step.saturating_mul(polls).min(self.max_delay)
    }
}

/// Polls `task_id` on `index` until it is published, as `waitForTask` does.
pub async fn wait_task<A: IndexingApi + ?Sized>(
    api: &A,
    index: &str,
    task_id: TaskId,
    policy: WaitPolicy,
) -> Result<(), AlgoliaError> {
    let started = tokio::time::Instant::now();
    let mut polls = 0;
    loop {
        let status = api.task_status(index, task_id).await?;
        polls += 1;
        if status == TaskStatus::Published {
            return Ok(());
        }
        if polls >= policy.max_polls {
            return Err(AlgoliaError::WaitTimeout {
                index: index.to_owned(),
                task_id,
                polls,
                waited: started.elapsed(),
            });
        }
        tokio::time::sleep(policy.delay(polls)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_bodies() {
        let copy = Operation::Copy {
            destination: "p_tmp_1".into(),
            scope: Scope::ALL.to_vec(),
        };
        assert_eq!(
            copy.to_json(),
            r#"{"destination":"p_tmp_1","operation":"copy","scope":["settings","synonyms","rules"]}"#
        );
        let all = Operation::Copy {
            destination: "b".into(),
            scope: vec![],
        };
        assert_eq!(all.to_json(), r#"{"destination":"b","operation":"copy"}"#);
        let moved = Operation::Move {
            destination: "p".into(),
        };
        assert_eq!(moved.to_json(), r#"{"destination":"p","operation":"move"}"#);
    }

    #[test]
    fn poll_delays_grow_to_the_cap() {
        let policy = WaitPolicy::default();
        assert_eq!(policy.delay(1), Duration::from_millis(200));
        assert_eq!(policy.delay(3), Duration::from_millis(600));
        assert_eq!(policy.delay(25), Duration::from_secs(5));
        assert_eq!(policy.delay(u32::MAX), Duration::from_secs(5));
    }
}
