//! The hosts a request may go to, and what the last requests taught about each.
//!
//! As Algolia's JavaScript client keeps it: a host that failed (network error, retryable status)
//! is **down** and skipped; a host that timed out is **timed out** and tried last; either state
//! expires after a while (2 minutes by default), and when every host is filtered out the full
//! list is tried again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use url::Url;

/// Whether a call reads or writes (they use different hosts and timeouts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// `GET`s (task status).
    Read,
    /// Everything that changes an index.
    Write,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Accept {
    Read,
    Write,
    ReadWrite,
}

impl Accept {
    fn takes(self, kind: CallKind) -> bool {
        matches!(
            (self, kind),
            (Accept::ReadWrite, _)
                | (Accept::Read, CallKind::Read)
                | (Accept::Write, CallKind::Write)
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Health {
    Up,
    Down,
    TimedOut,
}

#[derive(Clone, Copy, Debug)]
struct HostState {
    health: Health,
    since: Instant,
}

/// The hosts chosen for one request, in the order to try them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Indexes into the host list.
    pub hosts: Vec<usize>,
    /// Hosts still in the timed-out state (they grow the timeouts).
    pub timed_out: usize,
}

/// The host list with its per-host state.
#[derive(Debug)]
pub struct HostList {
    urls: Vec<Url>,
    accepts: Vec<Accept>,
    states: Mutex<Vec<HostState>>,
    expiry: Duration,
}

impl HostList {
    /// The official list for `app_id`: writes to `{app}.algolia.net`, reads from
    /// `{app}-dsn.algolia.net`, then `{app}-1/2/3.algolianet.com` for both, shuffled once.
    pub fn official(app_id: &str, expiry: Duration) -> Result<Self, String> {
        // The ID becomes part of a host name: anything that could end one is refused here too,
        // whatever the caller checked.
        if !ingest_model::is_app_id(app_id) {
            return Err(
                "the application ID must be 1 to 64 letters, digits or `_` (it names Algolia's hosts)"
                    .into(),
            );
        }
        let mut shared: Vec<String> = (1..=3)
            .map(|n| format!("https://{app_id}-{n}.algolianet.com"))
            .collect();
        shared.shuffle(&mut rand::rng());
        let mut hosts = vec![
            (format!("https://{app_id}-dsn.algolia.net"), Accept::Read),
            (format!("https://{app_id}.algolia.net"), Accept::Write),
        ];
        hosts.extend(shared.into_iter().map(|url| (url, Accept::ReadWrite)));
        Self::build(hosts, expiry)
    }

    /// A configured list, used in the given order for reads and writes. An entry without a
    /// scheme is taken as `https://`.
    pub fn custom(hosts: &[String], expiry: Duration) -> Result<Self, String> {
        if hosts.is_empty() {
            return Err("the Algolia host list is empty".into());
        }
        Self::build(
            hosts
                .iter()
                .map(|host| {
                    let url = if host.contains("://") {
                        host.clone()
                    } else {
                        format!("https://{host}")
                    };
                    (url, Accept::ReadWrite)
                })
                .collect(),
            expiry,
        )
    }

    fn build(hosts: Vec<(String, Accept)>, expiry: Duration) -> Result<Self, String> {
        let now = Instant::now();
        let mut urls = Vec::with_capacity(hosts.len());
        let mut accepts = Vec::with_capacity(hosts.len());
        for (text, accept) in hosts {
            let url =
                Url::parse(&text).map_err(|e| format!("invalid Algolia host `{text}`: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(format!(
                    "invalid Algolia host `{text}`: expected http(s)://host[:port]"
                ));
            }
            if url.path() != "/" || url.query().is_some() {
                return Err(format!(
                    "invalid Algolia host `{text}`: a host takes no path or query"
                ));
            }
            urls.push(url);
            accepts.push(accept);
        }
        let states = vec![
            HostState {
                health: Health::Up,
                since: now
            };
            urls.len()
        ];
        Ok(Self {
            urls,
            accepts,
            states: Mutex::new(states),
            expiry,
        })
    }

    /// The base URL of host `index` (`scheme://host[:port]/`).
    pub fn url(&self, index: usize) -> &Url {
        &self.urls[index]
    }

    /// Hosts to try for a `kind` request at `now`: those up (or whose state expired) first,
    /// then those timed out; when none is left, every compatible host.
    pub fn plan(&self, kind: CallKind, now: Instant) -> Plan {
        let states = self
            .states
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let compatible = (0..self.urls.len()).filter(|&i| self.accepts[i].takes(kind));
        let mut up = Vec::new();
        let mut timed_out = Vec::new();
        for i in compatible.clone() {
            let state = states[i];
            let expired = now.saturating_duration_since(state.since) >= self.expiry;
            match state.health {
                _ if expired => up.push(i),
                Health::Up => up.push(i),
                Health::TimedOut => timed_out.push(i),
                Health::Down => {}
            }
        }
        let timed_out_count = timed_out.len();
        up.extend(timed_out);
        if up.is_empty() {
            up = compatible.collect();
        }
        Plan {
            hosts: up,
            timed_out: timed_out_count,
        }
    }

    /// Marks host `index` as answering.
    pub fn mark_up(&self, index: usize, now: Instant) {
        self.set(index, Health::Up, now);
    }

    /// Marks host `index` as failing (network error or retryable status).
    pub fn mark_down(&self, index: usize, now: Instant) {
        self.set(index, Health::Down, now);
    }

    /// Marks host `index` as too slow.
    pub fn mark_timed_out(&self, index: usize, now: Instant) {
        self.set(index, Health::TimedOut, now);
    }

    fn set(&self, index: usize, health: Health, now: Instant) {
        let mut states = self
            .states
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        states[index] = HostState { health, since: now };
    }
}

/// The JavaScript client's timeout multiplier: 1 while nothing timed out, otherwise
/// `hosts still timed out + 3 + timeouts so far in this request`.
pub fn timeout_multiplier(hosts_timed_out: usize, timeouts_in_request: u32) -> u32 {
    if hosts_timed_out == 0 && timeouts_in_request == 0 {
        1
    } else {
        hosts_timed_out as u32 + 3 + timeouts_in_request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPIRY: Duration = Duration::from_secs(120);

    fn names(list: &HostList, plan: &Plan) -> Vec<String> {
        plan.hosts
            .iter()
            .map(|&i| list.url(i).host_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn an_application_id_cannot_name_another_host() {
        for bad in ["evil.example.com:8443#", "a/b", "x@evil", "", "a.b"] {
            let error = HostList::official(bad, EXPIRY).unwrap_err();
            assert!(error.contains("application ID"), "{bad}: {error}");
        }
    }

    #[test]
    fn official_hosts_split_reads_and_writes() {
        let list = HostList::official("APP", EXPIRY).unwrap();
        let now = Instant::now();
        let writes = names(&list, &list.plan(CallKind::Write, now));
        let reads = names(&list, &list.plan(CallKind::Read, now));
        assert_eq!(writes[0], "app.algolia.net");
        assert_eq!(reads[0], "app-dsn.algolia.net");
        for list in [&writes, &reads] {
            assert_eq!(list.len(), 4);
            let mut shared = list[1..].to_vec();
            shared.sort();
            assert_eq!(
                shared,
                [
                    "app-1.algolianet.com",
                    "app-2.algolianet.com",
                    "app-3.algolianet.com"
                ]
            );
        }
        assert_eq!(writes[1..], reads[1..], "shuffled once, shared by both");
    }

    #[test]
    fn down_hosts_are_skipped_and_timed_out_hosts_go_last_until_expiry() {
        let hosts = ["http://a:1", "http://b:2", "http://c:3"].map(String::from);
        let list = HostList::custom(&hosts, EXPIRY).unwrap();
        let t0 = Instant::now();
        list.mark_down(0, t0);
        list.mark_timed_out(1, t0);
        let plan = list.plan(CallKind::Write, t0);
        assert_eq!(plan.hosts, vec![2, 1]);
        assert_eq!(plan.timed_out, 1);
        let later = t0 + EXPIRY;
        assert_eq!(list.plan(CallKind::Write, later).hosts, vec![0, 1, 2]);
        list.mark_up(1, t0);
        assert_eq!(list.plan(CallKind::Read, t0).hosts, vec![1, 2]);
    }

    #[test]
    fn every_host_down_falls_back_to_all() {
        let hosts = ["http://a:1", "http://b:2"].map(String::from);
        let list = HostList::custom(&hosts, EXPIRY).unwrap();
        let now = Instant::now();
        list.mark_down(0, now);
        list.mark_down(1, now);
        assert_eq!(list.plan(CallKind::Write, now).hosts, vec![0, 1]);
    }

    #[test]
    fn custom_hosts_are_checked() {
        assert!(HostList::custom(&[], EXPIRY).is_err());
        assert!(HostList::custom(&["ftp://x".into()], EXPIRY).is_err());
        assert!(HostList::custom(&["http://x/path".into()], EXPIRY).is_err());
        let list = HostList::custom(&["search.example.com".into()], EXPIRY).unwrap();
        assert_eq!(list.url(0).as_str(), "https://search.example.com/");
    }

    #[test]
    fn timeouts_grow_as_in_the_javascript_client() {
        assert_eq!(timeout_multiplier(0, 0), 1);
        assert_eq!(timeout_multiplier(0, 1), 4);
        assert_eq!(timeout_multiplier(2, 0), 5);
        assert_eq!(timeout_multiplier(1, 2), 6);
    }
}
