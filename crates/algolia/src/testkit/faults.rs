//! Fault injection: a plan consulted on every call before the fake applies it.
//!
//! A [`Faults`] plan holds [`Rule`]s ("the 2nd batch answers 500", "every call to this path
//! stalls") and optional seeded [`RandomFaults`]. Every rule whose [`Matcher`] matches a call
//! counts it, whether or not it fires; the first rule that fires decides the answer. A call
//! answered by a fault is never applied (except [`Fault::StallThenApply`], which models a write
//! that succeeded but whose answer came too late).

use std::time::Duration;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use super::log::CallKind;

/// What a faulty call answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer `status` with `{"message": message, "status": status}`; nothing is applied.
    Status {
        /// The HTTP status.
        status: u16,
        /// The error message.
        message: String,
    },
    /// Answer 429 `{"message":"Too Many Requests","status":429}` with this `Retry-After` header
    /// value (seconds or an HTTP date, sent as is); nothing is applied.
    TooManyRequests {
        /// The `Retry-After` header value.
        retry_after: String,
    },
    /// Over HTTP, wait `delay` then answer 504 (a stall longer than the client's timeout looks
    /// like a timeout to it); in memory, fail at once as unreachable. Nothing is applied.
    Stall {
        /// How long to wait before answering.
        delay: Duration,
    },
    /// Apply the call, then (over HTTP) wait `delay` before sending its normal answer; in memory,
    /// apply it and fail as unreachable. Models a write that Algolia did but the client timed out on.
    StallThenApply {
        /// How long to wait before answering.
        delay: Duration,
    },
    /// Over HTTP, drop the connection without a response; in memory, fail as unreachable.
    /// Nothing is applied.
    Reset,
}

impl Fault {
    /// [`Fault::Status`].
    pub fn status(status: u16, message: impl Into<String>) -> Self {
        Self::Status {
            status,
            message: message.into(),
        }
    }

    /// [`Fault::TooManyRequests`].
    pub fn too_many_requests(retry_after: impl Into<String>) -> Self {
        Self::TooManyRequests {
            retry_after: retry_after.into(),
        }
    }

    /// [`Fault::Stall`].
    pub fn stall(delay: Duration) -> Self {
        Self::Stall { delay }
    }

    /// [`Fault::StallThenApply`].
    pub fn stall_then_apply(delay: Duration) -> Self {
        Self::StallThenApply { delay }
    }
}

/// Which calls a [`Rule`] looks at: every criterion set must match (none set matches all).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matcher {
    kind: Option<CallKind>,
    index: Option<String>,
    index_prefix: Option<String>,
    path: Option<String>,
}

impl Matcher {
    /// Matches every call.
    pub fn any() -> Self {
        Self::default()
    }

    /// Only calls of this kind.
    pub fn kind(mut self, kind: CallKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Only calls on this index (as named in the path, decoded).
    pub fn index(mut self, index: impl Into<String>) -> Self {
        self.index = Some(index.into());
        self
    }

    /// Only calls on an index whose name starts with `prefix` (e.g. a temporary index).
    pub fn index_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.index_prefix = Some(prefix.into());
        self
    }

    /// Only calls with exactly this path (as sent, e.g. `/1/indexes/products/batch`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    fn matches(&self, probe: &Probe<'_>) -> bool {
        self.kind.is_none_or(|kind| kind == probe.kind)
            && self
                .index
                .as_deref()
                .is_none_or(|index| probe.index == Some(index))
            && self
                .index_prefix
                .as_deref()
                .is_none_or(|prefix| probe.index.is_some_and(|i| i.starts_with(prefix)))
            && self.path.as_deref().is_none_or(|path| path == probe.path)
    }
}

impl From<CallKind> for Matcher {
    fn from(kind: CallKind) -> Self {
        Self::any().kind(kind)
    }
}

/// Which of the matching calls a [`Rule`] fires on (counted from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Only the n-th matching call (one-shot).
    Nth(u64),
    /// The n-th matching call and every one after it.
    From(u64),
    /// The first n matching calls.
    First(u64),
    /// Every matching call.
    Always,
}

impl When {
    fn fires(self, seen: u64) -> bool {
        match self {
            Self::Nth(n) => seen == n,
            Self::From(n) => seen >= n,
            Self::First(n) => seen <= n,
            Self::Always => true,
        }
    }
}

/// One programmed fault: `fault` on the calls that `matcher` matches, `when` says which.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    matcher: Matcher,
    when: When,
    fault: Fault,
    seen: u64,
}

impl Rule {
    /// A rule; `matcher` may be a [`CallKind`].
    pub fn new(matcher: impl Into<Matcher>, when: When, fault: Fault) -> Self {
        Self {
            matcher: matcher.into(),
            when,
            fault,
            seen: 0,
        }
    }

    /// How many calls this rule has matched so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }
}

/// Random failures of batch calls, from a seeded generator: the same seed and the same sequence
/// of batch calls give the same failures.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomFaults {
    /// The generator's seed.
    pub seed: u64,
    /// The fraction of batch calls answered 500 (0.0 to 1.0).
    pub server_errors: f64,
    /// The fraction of batch calls answered 429 (0.0 to 1.0).
    pub rate_limits: f64,
    /// The `Retry-After` value sent with those 429s (default `"0"`).
    pub retry_after: String,
}

impl RandomFaults {
    /// `server_errors` of the batches answer 500 and `rate_limits` answer 429 (`Retry-After: 0`).
    pub fn new(seed: u64, server_errors: f64, rate_limits: f64) -> Self {
        Self {
            seed,
            server_errors,
            rate_limits,
            retry_after: "0".to_owned(),
        }
    }
}

/// A fault plan: rules, then random faults. Empty by default (every call succeeds).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    rules: Vec<Rule>,
    random: Option<(RandomFaults, Xoshiro256PlusPlus)>,
}

/// The call being decided on.
pub(crate) struct Probe<'a> {
    pub(crate) kind: CallKind,
    pub(crate) index: Option<&'a str>,
    pub(crate) path: &'a str,
}

impl Faults {
    /// An empty plan.
    pub fn new() -> Self {
        Self::default()
    }

    /// A plan where every call answers `fault` (e.g. a server that stalls every request).
    pub fn always(fault: Fault) -> Self {
        Self::new().on(Matcher::any(), When::Always, fault)
    }

    /// Adds a rule (rules are consulted in the order added).
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Adds `Rule::new(matcher, when, fault)`.
    pub fn on(self, matcher: impl Into<Matcher>, when: When, fault: Fault) -> Self {
        self.rule(Rule::new(matcher, when, fault))
    }

    /// Adds random batch failures: see [`RandomFaults::new`].
    pub fn random(self, seed: u64, server_errors: f64, rate_limits: f64) -> Self {
        self.random_with(RandomFaults::new(seed, server_errors, rate_limits))
    }

    /// Adds random batch failures.
    pub fn random_with(mut self, random: RandomFaults) -> Self {
        let rng = Xoshiro256PlusPlus::seed_from_u64(random.seed);
        self.random = Some((random, rng));
        self
    }

    /// Whether the plan can never fire.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.random.is_none()
    }

    /// The rules, with how many calls each has matched.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Counts the call in every matching rule and returns the fault to answer with, if any.
    pub(crate) fn decide(&mut self, probe: &Probe<'_>) -> Option<Fault> {
        let mut decided = None;
        for rule in &mut self.rules {
            if rule.matcher.matches(probe) {
                rule.seen += 1;
                if decided.is_none() && rule.when.fires(rule.seen) {
                    decided = Some(rule.fault.clone());
                }
            }
        }
        if probe.kind == CallKind::Batch
            && let Some((random, rng)) = &mut self.random
        {
            // Drawn for every batch so the sequence only depends on the seed and the batches.
            let draw: f64 = rng.random();
            if decided.is_none() {
                if draw < random.server_errors {
                    decided = Some(Fault::status(500, "Internal Server Error (injected)"));
                } else if draw < random.server_errors + random.rate_limits {
                    decided = Some(Fault::too_many_requests(random.retry_after.clone()));
                }
            }
        }
        decided
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(kind: CallKind, index: &str) -> Probe<'_> {
        Probe {
            kind,
            index: Some(index),
            path: "/1/indexes/x/batch",
        }
    }

    #[test]
    fn rules_count_matching_calls_and_fire_as_told() {
        let mut faults = Faults::new()
            .on(CallKind::Batch, When::Nth(2), Fault::status(500, "boom"))
            .on(
                Matcher::any().index_prefix("tmp"),
                When::From(3),
                Fault::Reset,
            );
        let fired: Vec<_> = (0..4)
            .map(|_| faults.decide(&probe(CallKind::Batch, "tmp_1")))
            .collect();
        assert_eq!(
            fired,
            [
                None,
                Some(Fault::status(500, "boom")),
                Some(Fault::Reset),
                Some(Fault::Reset)
            ]
        );
        assert_eq!(faults.decide(&probe(CallKind::Task, "other")), None);
        assert_eq!(faults.rules()[0].seen(), 4);
        assert_eq!(faults.rules()[1].seen(), 4);
    }

    #[test]
    fn first_and_always() {
        let mut faults = Faults::new().on(CallKind::Copy, When::First(1), Fault::Reset);
        assert!(faults.decide(&probe(CallKind::Copy, "a")).is_some());
        assert!(faults.decide(&probe(CallKind::Copy, "a")).is_none());
        let mut always = Faults::new().on(Matcher::any().path("/p"), When::Always, Fault::Reset);
        let at = |path| Probe {
            kind: CallKind::Other,
            index: None,
            path,
        };
        assert!(always.decide(&at("/p")).is_some());
        assert!(always.decide(&at("/q")).is_none());
    }
}
