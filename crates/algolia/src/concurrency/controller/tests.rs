use super::*;

const RTT: Duration = Duration::from_millis(100);

/// A window with a call always waiting for a permit (a source faster than the network).
fn busy(initial: usize, max: usize) -> Controller {
    let mut c = Controller::new(initial, max);
    c.wait_started();
    c
}

/// Sends `n` calls, one after the other, each taking a permit (the window is full once `n`
/// reaches it).
fn send(c: &mut Controller, n: usize) -> Vec<Ticket> {
    (0..n).map(|_| c.acquired()).collect()
}

/// Answers every ticket with `signal` at `now`, releasing the permits.
fn answer(c: &mut Controller, tickets: Vec<Ticket>, signal: Signal, now: Instant) {
    for ticket in tickets {
        c.observe(ticket, signal, now);
        c.released();
    }
}

/// One round trip of a full window, answered healthy after `rtt`.
fn round(c: &mut Controller, now: &mut Instant, rtt: Duration) {
    let tickets = send(c, c.limit());
    *now += rtt;
    answer(c, tickets, Signal::Healthy(rtt), *now);
}

#[test]
fn slow_start_grows_by_half_per_round_trip_up_to_the_maximum() {
    let mut c = busy(4, 32);
    let mut now = Instant::now();
    let mut seen = vec![c.limit()];
    for _ in 0..8 {
        round(&mut c, &mut now, RTT);
        seen.push(c.limit());
    }
    assert_eq!(seen, [4, 6, 9, 13, 20, 30, 32, 32, 32]);
    assert!(c.slow_start());
    assert_eq!(c.rtt(), Some(RTT));
    assert_eq!(c.totals().increases, 28);
    assert_eq!(c.totals().peak, 32);
}

#[test]
fn without_demand_the_window_does_not_grow() {
    let mut c = Controller::new(4, 32);
    let mut now = Instant::now();
    for _ in 0..10 {
        // Two calls at a time under a window of four: never full.
        let tickets = send(&mut c, 2);
        now += RTT;
        answer(&mut c, tickets, Signal::Healthy(RTT), now);
    }
    assert_eq!(c.limit(), 4);
    // A call waiting for a permit is demand: two healthy answers meanwhile add one.
    c.wait_started();
    let tickets = send(&mut c, 2);
    now += RTT;
    answer(&mut c, tickets, Signal::Healthy(RTT), now);
    assert_eq!(c.limit(), 5);
    c.wait_ended();
    let tickets = send(&mut c, 2);
    now += RTT;
    answer(&mut c, tickets, Signal::Healthy(RTT), now);
    assert_eq!(c.limit(), 5);
}

#[test]
fn a_429_halves_the_window_it_was_sent_under_once_and_sets_a_ceiling() {
    let mut c = busy(16, 32);
    let mut now = Instant::now();
    // A burst of 16 calls; the server takes 8, the other 8 get 429s.
    let tickets = send(&mut c, 16);
    now += RTT;
    let (delta, why) = c.observe(tickets[8], Signal::Throttled, now);
    assert_eq!(tickets[8].limit, 16);
    assert_eq!((delta, why), (-8, Some(Decrease::Throttled)));
    assert_eq!(c.limit(), 8);
    // The rest of the burst was sent under the same window: no further halving.
    for &ticket in &tickets[9..] {
        assert_eq!(c.observe(ticket, Signal::Throttled, now), (0, None));
    }
    for &ticket in &tickets[..8] {
        c.observe(ticket, Signal::Healthy(RTT), now);
    }
    for _ in 0..16 {
        c.released();
    }
    assert!(!c.slow_start());
    assert_eq!(c.totals().throttled, 8);
    assert_eq!(c.totals().decreases, 1);
    // Healthy round trips: the window grows again one per round trip after the hold-off, but
    // stays below the 16 that got the 429 while the ceiling lasts.
    for _ in 0..(HOLD_RTTS + 20) {
        round(&mut c, &mut now, RTT);
    }
    assert_eq!(c.limit(), 15);
    // Once the ceiling has expired, probing resumes.
    now += CEILING_FOR;
    for _ in 0..3 {
        round(&mut c, &mut now, RTT);
    }
    assert!(c.limit() > 15, "{}", c.limit());
}

#[test]
fn a_failure_halves_the_window_without_a_ceiling() {
    let mut c = busy(16, 32);
    let mut now = Instant::now();
    let ticket = c.acquired();
    now += RTT;
    assert_eq!(
        c.observe(ticket, Signal::Failed, now),
        (-8, Some(Decrease::Failed))
    );
    c.released();
    assert_eq!(c.limit(), 8);
    assert_eq!(c.totals().failed, 1);
    for _ in 0..(HOLD_RTTS + 12) {
        round(&mut c, &mut now, RTT);
    }
    assert!(c.limit() >= 18, "{}", c.limit());
}

#[test]
fn a_rising_rtt_takes_ten_percent_off_and_holds_increases() {
    let mut c = busy(32, 32);
    let mut now = Instant::now();
    round(&mut c, &mut now, RTT);
    round(&mut c, &mut now, RTT);
    assert_eq!(c.limit(), 32);
    // The same window, answers three times slower: 10 % off (32 → 28) once their interval is
    // judged; the answers to calls sent before that decrease do not count again.
    let mut limits = Vec::new();
    let mut decreased_at = None;
    for _ in 0..4 {
        round(&mut c, &mut now, RTT * 3);
        if c.limit() < 32 && decreased_at.is_none() {
            decreased_at = Some(now);
        }
        limits.push(c.limit());
    }
    assert!(limits.contains(&28), "{limits:?}");
    assert_eq!(c.totals().decreases, 1);
    assert!(!c.slow_start());
    // Back to the old RTT: no increase while held off (8 baseline RTTs), then one per round
    // trip up to 32.
    let held_until = decreased_at.unwrap() + RTT * HOLD_RTTS;
    while now + RTT < held_until {
        round(&mut c, &mut now, RTT);
        assert_eq!(c.limit(), 28);
    }
    for _ in 0..(HOLD_RTTS * 4) {
        round(&mut c, &mut now, RTT);
    }
    assert_eq!(c.limit(), 32);
}

#[test]
fn neutral_answers_change_nothing_and_bounds_hold() {
    let mut c = Controller::new(1, 1);
    let mut now = Instant::now();
    for _ in 0..5 {
        round(&mut c, &mut now, RTT);
    }
    assert_eq!(c.limit(), 1);
    let ticket = c.acquired();
    assert_eq!(c.observe(ticket, Signal::Failed, now), (0, None));
    assert_eq!(c.observe(ticket, Signal::Neutral, now), (0, None));
    c.released();
    c.released();
    assert_eq!((c.limit(), c.in_flight()), (1, 0));
    assert_eq!(Controller::new(0, 0).limit(), 1);
    assert_eq!(Controller::new(6, 2).max(), 6);
}

/// A server that takes `capacity` calls at once, each for `latency` (a 429 beyond, answered
/// after the same latency); an unbounded queue of calls in front of the window. Returns the
/// calls sent, those answered 429, and the window at the end.
fn simulate(capacity: usize, latency: Duration, calls: usize) -> (usize, usize, usize) {
    let mut c = busy(4, 32);
    let start = Instant::now();
    let step = Duration::from_millis(1);
    let mut now = start;
    // (answer time, ticket, throttled)
    let mut flying: Vec<(Instant, Ticket, bool)> = Vec::new();
    let (mut sent, mut throttled, mut done) = (0, 0, 0);
    while done < calls {
        let (due, rest): (Vec<_>, Vec<_>) = flying.into_iter().partition(|(at, ..)| *at <= now);
        flying = rest;
        for (_, ticket, refused) in due {
            let signal = if refused {
                Signal::Throttled
            } else {
                done += 1;
                Signal::Healthy(latency)
            };
            c.observe(ticket, signal, now);
            c.released();
        }
        while c.in_flight() < c.limit() && sent < calls * 2 {
            let ticket = c.acquired();
            let busy = flying.iter().filter(|(_, _, refused)| !refused).count();
            let refused = busy >= capacity;
            throttled += usize::from(refused);
            sent += 1;
            flying.push((now + latency, ticket, refused));
        }
        now += step;
    }
    (sent, throttled, c.limit())
}

#[test]
fn against_a_server_that_takes_eight_calls_the_window_settles_at_eight_with_few_429s() {
    for latency in [20, 100] {
        let (sent, throttled, limit) = simulate(8, Duration::from_millis(latency), 2000);
        assert!(limit <= 8, "window {limit} at {latency} ms");
        assert!(
            throttled * 100 < sent * 5,
            "{throttled} of {sent} calls throttled at {latency} ms"
        );
    }
}

#[test]
fn against_a_healthy_slow_server_the_window_reaches_the_maximum() {
    let (sent, throttled, limit) = simulate(1000, Duration::from_millis(100), 2000);
    assert_eq!((throttled, limit), (0, 32));
    assert!(sent >= 2000);
}
