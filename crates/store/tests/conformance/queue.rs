//! Which queued run a claim takes when the queue is deep: applications never claimed go oldest
//! queued run first, then turns; a task's runs wait behind its started run while the
//! application's runs of free tasks go ahead; nothing claimable is `None`.

use std::time::Duration;

use ingest_model::{RunOutcome, RunReasonCode};
use ingest_store::{ClaimedRun, RunFinish};

use crate::fixtures::*;
use crate::harness::Harness;

ingest_store::both_backends!(a_deep_queue_is_served_in_turn_and_around_busy_tasks);

const THIRD_APP: &str = "APP3";

async fn queue(h: &Harness, app: &str, task_id: &str, runs: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..runs {
        let run = h.store.create_run(app, task_id, h.now()).await.unwrap();
        ids.push(run.run_id);
    }
    ids
}

async fn claim(h: &Harness) -> Option<ClaimedRun> {
    h.store
        .claim_next_run("w", Duration::from_secs(30), h.now())
        .await
        .unwrap()
}

async fn claimed_id(h: &Harness) -> String {
    claim(h).await.expect("a run to claim").run.run_id
}

async fn a_deep_queue_is_served_in_turn_and_around_busy_tasks(h: &Harness) {
    let other = create_task(h, OTHER_APP).await;
    let busy = create_task(h, APP).await;
    let free = create_task(h, APP).await;
    let third = create_task(h, THIRD_APP).await;
    // Queued in this order: OTHER_APP's run, 40 of APP's busy task, one of its free task, then
    // one of THIRD_APP.
    let other_runs = queue(h, OTHER_APP, &other.task_id, 1).await;
    let busy_runs = queue(h, APP, &busy.task_id, 40).await;
    let free_runs = queue(h, APP, &free.task_id, 1).await;
    let third_runs = queue(h, THIRD_APP, &third.task_id, 1).await;

    // No application was ever claimed: the oldest queued run goes first, then the next
    // never-claimed application's oldest.
    assert_eq!(claimed_id(h).await, other_runs[0]);
    let first_busy = claim(h).await.unwrap();
    assert_eq!(first_busy.run.run_id, busy_runs[0]);
    assert_eq!(claimed_id(h).await, third_runs[0]);
    // APP's next 39 runs wait for their task's started run; its free task's run does not.
    assert_eq!(claimed_id(h).await, free_runs[0]);
    assert!(claim(h).await.is_none(), "every queued run's task is busy");

    let done = RunFinish {
        outcome: RunOutcome::Success,
        reason_code: RunReasonCode::Ok,
        reason: None,
        progress: None,
    };
    h.store
        .finish_run(
            &first_busy.run.run_id,
            &first_busy.lease_token,
            &done,
            h.now(),
        )
        .await
        .unwrap();
    assert_eq!(
        claimed_id(h).await,
        busy_runs[1],
        "in order, once the task is free"
    );
    assert!(claim(h).await.is_none());
}
