//! Adaptive request concurrency toward one Algolia application: how many batch calls the
//! pushers of a process keep on the wire at once (task polls, being reads, are not paced here).
//!
//! A [`ConcurrencyWindow`] is a semaphore whose size follows the application's answers (the
//! arithmetic is in `controller`: slow start, additive increase while the RTT stays near its
//! baseline, multiplicative decrease on a 429, a 5xx, a timeout or a rising RTT, a ceiling after
//! a 429). A call takes a [`Permit`], reports how each attempt went ([`Pacer::observe`]), goes
//! back in line before a retry when the window has shrunk below the calls on the wire
//! ([`Pacer::before_retry`]), and gives the permit back when dropped. The window starts at
//! `push.in_flight` and never exceeds `push.max_in_flight`.
//!
//! One window per application, shared by every run of the process that writes to it:
//! [`ConcurrencyWindows`] hands them out by application ID, so ten runs against one application
//! share one window instead of opening ten. The window and its RTT estimate are exported as
//! gauges (`ingestion_algolia_concurrency_window`, `ingestion_algolia_rtt_seconds`) with an
//! `app_id` label, and every decrease is counted by reason.

mod controller;
mod permit;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ingest_core::metrics::{self, Metrics, retry_reason};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use controller::{Controller, Ticket};
pub use controller::{Decrease, Signal, Totals};
pub use permit::{Pacer, Permit, Unpaced};

use crate::AlgoliaError;

/// The bounds of a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSettings {
    /// Calls on the wire at first (at least 1): `push.in_flight`.
    pub initial: usize,
    /// Calls on the wire at most: `push.max_in_flight` (a window with `max == initial` is fixed).
    pub max: usize,
}

/// A window's state at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSnapshot {
    /// Calls allowed on the wire now.
    pub limit: usize,
    /// The most ever allowed.
    pub max: usize,
    /// Calls holding a permit now.
    pub in_flight: usize,
    /// The baseline round-trip time of a batch call, once measured.
    pub rtt: Option<Duration>,
    /// Running totals since the window was made.
    pub totals: Totals,
}

/// The shared, adaptive window of one application: see the [module documentation](self).
#[derive(Debug)]
pub struct ConcurrencyWindow {
    app_id: String,
    semaphore: Arc<Semaphore>,
    state: Mutex<State>,
    metrics: Option<Arc<Metrics>>,
}

#[derive(Debug)]
struct State {
    controller: Controller,
    /// Permits to drop instead of giving back, once held ones come back (the window shrank
    /// below the permits out).
    to_forget: usize,
}

impl ConcurrencyWindow {
    /// A window for application `app_id` (the label of its metrics, when `metrics` is given).
    pub fn new(
        app_id: impl Into<String>,
        settings: WindowSettings,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        let controller = Controller::new(settings.initial, settings.max);
        let window = Self {
            app_id: app_id.into(),
            semaphore: Arc::new(Semaphore::new(controller.limit())),
            state: Mutex::new(State {
                controller,
                to_forget: 0,
            }),
            metrics,
        };
        window.export(&window.lock().controller, None);
        window
    }

    /// A window of its own for one pusher (no metrics).
    pub fn private(settings: WindowSettings) -> Arc<Self> {
        Arc::new(Self::new(String::new(), settings, None))
    }

    /// The application it paces.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The window now.
    pub fn snapshot(&self) -> WindowSnapshot {
        let state = self.lock();
        let c = &state.controller;
        WindowSnapshot {
            limit: c.limit(),
            max: c.max(),
            in_flight: c.in_flight(),
            rtt: c.rtt(),
            totals: c.totals(),
        }
    }

    /// Waits for a permit (first come, first served).
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        let (permit, ticket) = self.take().await;
        Permit::new(self.clone(), permit, ticket)
    }

    /// Takes a semaphore permit and counts the call in.
    async fn take(&self) -> (Option<OwnedSemaphorePermit>, Ticket) {
        let permit = match self.semaphore.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                let _waiting = Waiting::start(self);
                // The semaphore is never closed; were it, calls would go unpaced.
                self.semaphore.clone().acquire_owned().await.ok()
            }
        };
        let ticket = self.lock().controller.acquired();
        (permit, ticket)
    }

    /// Gives `permit` back when the window has shrunk below the calls on the wire (it is then
    /// dropped rather than returned); `true` when it was given back.
    fn surrender_if_shrunk(&self, permit: &mut Option<OwnedSemaphorePermit>) -> bool {
        let mut state = self.lock();
        if state.to_forget == 0 {
            return false;
        }
        state.to_forget -= 1;
        state.controller.released();
        if let Some(permit) = permit.take() {
            permit.forget();
        }
        true
    }

    fn observe(&self, ticket: Ticket, signal: Signal) {
        let mut state = self.lock();
        let (delta, decrease) = state.controller.observe(ticket, signal, Instant::now());
        if delta > 0 {
            for _ in 0..delta {
                if state.to_forget > 0 {
                    state.to_forget -= 1;
                } else {
                    self.semaphore.add_permits(1);
                }
            }
        } else if delta < 0 {
            let excess = delta.unsigned_abs();
            let forgotten = self.semaphore.forget_permits(excess);
            state.to_forget += excess - forgotten;
        }
        self.export(&state.controller, decrease);
    }

    fn release(&self, permit: Option<OwnedSemaphorePermit>) {
        let mut state = self.lock();
        state.controller.released();
        if let Some(permit) = permit
            && state.to_forget > 0
        {
            state.to_forget -= 1;
            permit.forget();
        }
    }

    fn export(&self, controller: &Controller, decrease: Option<Decrease>) {
        let Some(metrics) = &self.metrics else {
            return;
        };
        let app = [("app_id", self.app_id.as_str())];
        metrics.set(metrics::CONCURRENCY_WINDOW, &app, controller.limit() as f64);
        if let Some(rtt) = controller.rtt() {
            metrics.set(metrics::ALGOLIA_RTT, &app, rtt.as_secs_f64());
        }
        if let Some(decrease) = decrease {
            metrics.inc(
                metrics::CONCURRENCY_DECREASES,
                &[
                    ("app_id", self.app_id.as_str()),
                    ("reason", decrease.as_str()),
                ],
            );
        }
    }
}

/// A call waiting for a permit (demand for a larger window), until dropped.
struct Waiting<'a>(&'a ConcurrencyWindow);

impl<'a> Waiting<'a> {
    fn start(window: &'a ConcurrencyWindow) -> Self {
        window.lock().controller.wait_started();
        Self(window)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.lock().controller.wait_ended();
    }
}

/// The windows of a process, one per application: see the [module documentation](self).
#[derive(Debug, Default)]
pub struct ConcurrencyWindows {
    by_app: Mutex<HashMap<String, Arc<ConcurrencyWindow>>>,
    metrics: Option<Arc<Metrics>>,
}

impl ConcurrencyWindows {
    /// No window yet; their gauges go to `metrics` when given.
    pub fn new(metrics: Option<Arc<Metrics>>) -> Self {
        Self {
            by_app: Mutex::default(),
            metrics,
        }
    }

    /// The window of `app_id`, made with `settings` on first use.
    pub fn window(&self, app_id: &str, settings: WindowSettings) -> Arc<ConcurrencyWindow> {
        let mut by_app = self.by_app.lock().unwrap_or_else(PoisonError::into_inner);
        by_app
            .entry(app_id.to_owned())
            .or_insert_with(|| {
                Arc::new(ConcurrencyWindow::new(
                    app_id,
                    settings,
                    self.metrics.clone(),
                ))
            })
            .clone()
    }
}

/// How a call reads for the window: `retries` are the reasons of the attempts before the one
/// that succeeded, `rtt` the call's duration, measured only when the first attempt succeeded.
pub(crate) fn signal_of(result: Result<&[String], &AlgoliaError>, rtt: Option<Duration>) -> Signal {
    match result {
        Ok(retries) => {
            let reasons = || retries.iter().map(|r| retry_reason(r));
            if reasons().any(|r| r == "rate_limited") {
                Signal::Throttled
            } else if reasons().any(|r| r == "server_error" || r == "timeout") {
                Signal::Failed
            } else if retries.is_empty() {
                rtt.map_or(Signal::Neutral, Signal::Healthy)
            } else {
                Signal::Neutral
            }
        }
        Err(AlgoliaError::Api { status: 429, .. }) => Signal::Throttled,
        Err(AlgoliaError::Api { status, .. }) if *status >= 500 => Signal::Failed,
        Err(AlgoliaError::Unreachable { last, .. }) if retry_reason(last) == "rate_limited" => {
            Signal::Throttled
        }
        Err(AlgoliaError::Unreachable { .. } | AlgoliaError::NotRetriable { .. }) => Signal::Failed,
        Err(_) => Signal::Neutral,
    }
}

#[cfg(test)]
mod tests;
