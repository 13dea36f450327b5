//! [`Permit`]: one call's place in a window, and [`Pacer`]: what a call that retries tells it.

use std::sync::{Arc, Mutex, PoisonError};

use futures::future::BoxFuture;
use tokio::sync::OwnedSemaphorePermit;

use super::ConcurrencyWindow;
use super::controller::{Signal, Ticket};

/// What a call tells its window attempt by attempt (see [`crate::Transport::send_observed`]).
pub trait Pacer: Sync {
    /// How an attempt went.
    fn observe(&self, signal: Signal);

    /// Before a retry: waits until the call may go on the wire again.
    fn before_retry(&self) -> BoxFuture<'_, ()>;
}

/// The pacer of calls outside any window: hears nothing, never waits.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unpaced;

impl Pacer for Unpaced {
    fn observe(&self, _: Signal) {}

    fn before_retry(&self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}

/// The right to have one call on the wire; given back when dropped.
#[derive(Debug)]
pub struct Permit {
    window: Arc<ConcurrencyWindow>,
    held: Mutex<Held>,
}

#[derive(Debug)]
struct Held {
    permit: Option<OwnedSemaphorePermit>,
    /// The window the call (or its latest attempt) was sent under.
    ticket: Ticket,
    /// Whether the call counts among those on the wire (not while it waits in line again).
    counted: bool,
}

impl Permit {
    pub(super) fn new(
        window: Arc<ConcurrencyWindow>,
        permit: Option<OwnedSemaphorePermit>,
        ticket: Ticket,
    ) -> Self {
        Self {
            window,
            held: Mutex::new(Held {
                permit,
                ticket,
                counted: true,
            }),
        }
    }

    fn ticket(&self) -> Ticket {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ticket
    }

    /// The window the call was sent under.
    #[cfg(test)]
    pub(super) fn limit(&self) -> usize {
        self.ticket().limit
    }
}

impl Pacer for Permit {
    /// Reports how the call made under this permit went (a call resent under the same permit
    /// reports each attempt).
    fn observe(&self, signal: Signal) {
        self.window.observe(self.ticket(), signal);
    }

    /// When the window has shrunk below the calls on the wire (after a 429, say), the call
    /// gives its place back and waits in line for a new one: a retry never adds to a window
    /// that was just found too large.
    fn before_retry(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let surrendered = {
                let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
                let surrendered = held.counted && self.window.surrender_if_shrunk(&mut held.permit);
                held.counted &= !surrendered;
                surrendered
            };
            if surrendered {
                let (permit, ticket) = self.window.take().await;
                let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
                *held = Held {
                    permit,
                    ticket,
                    counted: true,
                };
            }
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let held = self.held.get_mut().unwrap_or_else(PoisonError::into_inner);
        if held.counted {
            self.window.release(held.permit.take());
        }
    }
}
