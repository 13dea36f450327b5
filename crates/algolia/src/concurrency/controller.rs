//! The window's arithmetic: a state machine fed with acquisitions, outcomes and releases at given
//! instants. No clock and no semaphore here ([`super::ConcurrencyWindow`] holds those), so every
//! rule is tested with made-up instants.
//!
//! - **Slow start**: while nothing went wrong yet, every second healthy answer that came while
//!   calls were waiting for the window adds one (the window grows by half per round trip: less
//!   overshoot than doubling when the application has a hard limit), unless the RTT is rising.
//! - **Additive increase**: afterwards, one more per interval (an interval lasts one baseline
//!   RTT) in which the window was full, nothing pushed back and the mean RTT stayed near the
//!   baseline, once the hold-off after the last decrease is over.
//! - **Multiplicative decrease**: a 429 or a failure (5xx, timeout) sets the window to half the
//!   window *that call was sent under* (so the answers of a burst sent under a larger window do
//!   not halve it again and again); a mean RTT rising above the baseline by more than its
//!   tolerance takes 10 % off. Every decrease ends slow start and holds increases off for
//!   [`HOLD_RTTS`] round trips.
//! - **Ceiling**: a 429 for a call sent under window W keeps the window below W for
//!   [`CEILING_FOR`]: the application said how much it takes, and probing it again at once would
//!   turn one 429 into a stream of them.
//! - **Baseline**: an exponentially weighted mean and variance of the intervals' mean RTT (only
//!   answers that succeeded at the first attempt are measured, and only for calls sent since the
//!   last decrease).

use std::time::Duration;

use tokio::time::Instant;

/// What a 429 or a failure leaves of the window it was sent under.
pub(crate) const BACK_PRESSURE_DECREASE: f64 = 0.5;
/// What a rising RTT leaves of the window.
pub(crate) const RTT_DECREASE: f64 = 0.9;
/// Weight of the latest interval in the baseline RTT.
const EWMA_ALPHA: f64 = 0.4;
/// An interval's mean RTT is rising when it exceeds the baseline by this many deviations…
const RTT_DEVIATIONS: f64 = 2.5;
/// …or by this fraction of the baseline…
const RTT_RISE_RATIO: f64 = 0.1;
/// …whichever is larger, and at least this (scheduling noise on loopback).
const RTT_FLOOR: Duration = Duration::from_millis(2);
/// Round trips without an increase after a decrease.
pub(crate) const HOLD_RTTS: u32 = 8;
/// The interval used before any RTT was measured.
const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);
/// The shortest interval.
const MIN_INTERVAL: Duration = Duration::from_millis(1);
/// How long a 429 keeps the window below the window its call was sent under.
pub(crate) const CEILING_FOR: Duration = Duration::from_secs(30);

/// How a call ended, as far as the window is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Answered with success at the first attempt, after this round trip.
    Healthy(Duration),
    /// Algolia answered 429 (at any attempt).
    Throttled,
    /// A 5xx, a timeout, or no host answered (at any attempt).
    Failed,
    /// Says nothing about load (a 4xx, a poll, a network error): not measured.
    Neutral,
}

/// Why the window shrank (the `reason` label of the decrease counter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decrease {
    /// A 429.
    Throttled,
    /// A 5xx, a timeout or an unreachable host.
    Failed,
    /// The mean RTT rose above the baseline.
    RttRising,
}

impl Decrease {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Throttled => "rate_limited",
            Self::Failed => "server_error",
            Self::RttRising => "rtt",
        }
    }
}

/// What a call was sent under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket {
    /// The window at the time.
    pub limit: usize,
    /// Decreases before the call was sent: the RTT of a call sent before the last decrease says
    /// nothing about the window since.
    decreases: u64,
}

/// Running totals, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Times the window grew.
    pub increases: u64,
    /// Times it shrank.
    pub decreases: u64,
    /// Calls that got a 429.
    pub throttled: u64,
    /// Calls that failed with a 5xx, a timeout or no host.
    pub failed: u64,
    /// Calls measured (healthy at the first attempt).
    pub measured: u64,
    /// The largest window so far.
    pub peak: usize,
}

#[derive(Clone, Copy, Debug)]
struct Ewma {
    mean: f64,
    variance: f64,
}

impl Ewma {
    fn update(&mut self, value: f64) {
        let delta = value - self.mean;
        self.mean += EWMA_ALPHA * delta;
        self.variance = (1.0 - EWMA_ALPHA) * (self.variance + EWMA_ALPHA * delta * delta);
    }

    /// How far above the mean an RTT may be before it counts as rising.
    fn tolerance(&self) -> f64 {
        (RTT_DEVIATIONS * self.variance.sqrt())
            .max(RTT_RISE_RATIO * self.mean)
            .max(RTT_FLOOR.as_secs_f64())
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Interval {
    /// When it ends; `None` until the first RTT is measured.
    ends: Option<Instant>,
    rtt_sum: f64,
    samples: u32,
    /// The window was full at some point (there was demand for more).
    full: bool,
    /// A 429 or a failure came back.
    back_pressure: bool,
}

/// The window's state: see the [module documentation](self).
#[derive(Clone, Debug)]
pub(crate) struct Controller {
    max: usize,
    limit: usize,
    in_flight: usize,
    /// Calls waiting for a permit.
    waiting: usize,
    slow_start: bool,
    /// Slow start: a healthy answer counted toward the next increase.
    half_step: bool,
    baseline: Option<Ewma>,
    interval: Interval,
    hold_until: Option<Instant>,
    /// The window stays below `.0` until `.1`.
    ceiling: Option<(usize, Instant)>,
    totals: Totals,
}

impl Controller {
    /// A window of `initial` (at least 1) that never exceeds `max` (at least `initial`).
    pub fn new(initial: usize, max: usize) -> Self {
        let limit = initial.max(1);
        Self {
            max: max.max(limit),
            limit,
            in_flight: 0,
            waiting: 0,
            slow_start: true,
            half_step: false,
            baseline: None,
            interval: Interval::default(),
            hold_until: None,
            ceiling: None,
            totals: Totals {
                peak: limit,
                ..Totals::default()
            },
        }
    }

    /// The window.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Its upper bound.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Calls holding a permit.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The baseline RTT, once measured.
    pub fn rtt(&self) -> Option<Duration> {
        self.baseline.map(|b| Duration::from_secs_f64(b.mean))
    }

    /// Whether the window is still in slow start.
    #[cfg(test)]
    pub fn slow_start(&self) -> bool {
        self.slow_start
    }

    /// The totals so far.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// A call took a permit.
    pub fn acquired(&mut self) -> Ticket {
        self.in_flight += 1;
        if self.in_flight >= self.limit {
            self.interval.full = true;
        }
        Ticket {
            limit: self.limit,
            decreases: self.totals.decreases,
        }
    }

    /// A call starts waiting for a permit.
    pub fn wait_started(&mut self) {
        self.waiting += 1;
        self.interval.full = true;
    }

    /// A call stopped waiting (it got its permit, or gave up).
    pub fn wait_ended(&mut self) {
        self.waiting = self.waiting.saturating_sub(1);
    }

    /// Whether more calls wanted to go than the window let through.
    fn demand(&self) -> bool {
        self.interval.full || self.waiting > 0
    }

    /// A call gave its permit back.
    pub fn released(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Takes the outcome of a call sent under `ticket` into account. Returns by how much the
    /// window changed, and why when it shrank.
    pub fn observe(
        &mut self,
        ticket: Ticket,
        signal: Signal,
        now: Instant,
    ) -> (isize, Option<Decrease>) {
        let before = self.limit;
        let mut decrease = None;
        match signal {
            Signal::Healthy(_) if ticket.decreases < self.totals.decreases => {}
            Signal::Healthy(rtt) => {
                let rtt = rtt.as_secs_f64();
                self.totals.measured += 1;
                self.interval.rtt_sum += rtt;
                self.interval.samples += 1;
                if self.slow_start && self.demand() && !self.rising(rtt) {
                    self.half_step = !self.half_step;
                    if !self.half_step {
                        self.grow(now);
                    }
                }
            }
            Signal::Throttled | Signal::Failed => {
                let reason = if signal == Signal::Throttled {
                    self.totals.throttled += 1;
                    let ceiling = match self.ceiling {
                        Some((at, until)) if now < until => at.min(ticket.limit),
                        _ => ticket.limit,
                    };
                    self.ceiling = Some((ceiling, now + CEILING_FOR));
                    Decrease::Throttled
                } else {
                    self.totals.failed += 1;
                    Decrease::Failed
                };
                self.interval.back_pressure = true;
                let target = scaled(ticket.limit, BACK_PRESSURE_DECREASE);
                if target < self.limit {
                    self.shrink(target, now);
                    decrease = Some(reason);
                }
            }
            Signal::Neutral => {}
        }
        if let Some(reason) = self.end_interval(now) {
            decrease = Some(reason);
        }
        (self.limit as isize - before as isize, decrease)
    }

    /// The highest window allowed now.
    fn cap(&self, now: Instant) -> usize {
        match self.ceiling {
            Some((at, until)) if now < until => self.max.min(at.saturating_sub(1)).max(1),
            _ => self.max,
        }
    }

    fn grow(&mut self, now: Instant) {
        if self.limit < self.cap(now) {
            self.limit += 1;
            self.totals.increases += 1;
            self.totals.peak = self.totals.peak.max(self.limit);
        }
    }

    fn shrink(&mut self, target: usize, now: Instant) {
        self.limit = target.max(1);
        self.totals.decreases += 1;
        self.slow_start = false;
        self.hold_until = Some(now + self.interval_length() * HOLD_RTTS);
    }

    fn interval_length(&self) -> Duration {
        self.rtt()
            .map_or(DEFAULT_INTERVAL, |rtt| rtt.max(MIN_INTERVAL))
    }

    fn rising(&self, rtt: f64) -> bool {
        self.baseline
            .is_some_and(|base| rtt > base.mean + base.tolerance())
    }

    fn near(&self, rtt: f64) -> bool {
        self.baseline
            .is_some_and(|base| rtt <= base.mean + base.tolerance() / 2.0)
    }

    /// Closes the interval when it is over: judges its mean RTT, then folds it into the baseline.
    fn end_interval(&mut self, now: Instant) -> Option<Decrease> {
        let due = match self.interval.ends {
            Some(ends) => now >= ends,
            None => self.interval.samples > 0,
        };
        if !due {
            return None;
        }
        let demand = self.demand();
        let interval = std::mem::take(&mut self.interval);
        let current =
            (interval.samples > 0).then(|| interval.rtt_sum / f64::from(interval.samples));
        let mut decrease = None;
        if let Some(current) = current
            && !interval.back_pressure
        {
            if self.rising(current) {
                let target = scaled(self.limit, RTT_DECREASE);
                if target < self.limit {
                    self.shrink(target, now);
                    decrease = Some(Decrease::RttRising);
                }
            } else if !self.slow_start
                && demand
                && self.near(current)
                && self.hold_until.is_none_or(|until| now >= until)
            {
                self.grow(now);
            }
        }
        if let Some(current) = current {
            match &mut self.baseline {
                Some(base) => base.update(current),
                None => {
                    self.baseline = Some(Ewma {
                        mean: current,
                        variance: 0.0,
                    })
                }
            }
        }
        self.interval.ends = Some(now + self.interval_length());
        decrease
    }
}

/// `limit × ratio`, rounded down, at least 1.
fn scaled(limit: usize, ratio: f64) -> usize {
    ((limit as f64 * ratio) as usize).max(1)
}

#[cfg(test)]
mod tests;
