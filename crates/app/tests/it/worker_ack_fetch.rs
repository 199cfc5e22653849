//! Ack-and-fetch, on both backends: `Store::finish_and_claim` acknowledges outcomes and
//! claims the next jobs in one write (fencing and fair order kept), and the runner, when it
//! acknowledges jobs one by one on SQLite, hands the slot of each finished job to the job
//! its acknowledgement claimed, without losing, repeating or reordering jobs, and hands the
//! claimed jobs nobody started back at shutdown.

use herald_domain::clock::{Clock, SystemClock};
use herald_domain::id::PageId;
use herald_store::{Finish, JobState, NewJob, Outcome};
use herald_worker::RunnerConfig;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

use crate::both_backends;
use crate::helpers::{Backend, TestDb};
use crate::worker_queue::{TEST, assert_page_b_served_early, config, drain_two_pages, start};

fn done(id: i64, attempt: i64) -> Finish {
    Finish {
        id,
        attempt,
        outcome: Outcome::Completed,
    }
}

async fn finish_and_claim_acknowledges_and_claims_in_one_write(b: Backend) {
    // Arrange: four jobs of page A, then one of page B; w1 holds A's first.
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let now = SystemClock.now();
    let mut jobs: Vec<NewJob> = (0..4)
        .map(|_| TEST.raw_job(Some(&PageId::from("pageaaaaaaaa")), json!({})))
        .collect();
    jobs.push(TEST.raw_job(Some(&PageId::from("pagebbbbbbbb")), json!({})));
    let ids = store.enqueue(&jobs, now).await.unwrap();
    let first = store.claim_jobs("test", "w1", 1, now).await.unwrap();
    assert_eq!(first[0].id, ids[0]);

    // Act: complete it and claim two: fair order takes A's second and B's first.
    let (report, claimed) = store
        .finish_and_claim(&[done(ids[0], 1)], "test", "w1", 2, now)
        .await
        .unwrap();
    // Assert
    assert_eq!((report.applied, report.fenced.len()), (1, 0));
    let got: Vec<i64> = claimed.iter().map(|j| j.id).collect();
    assert_eq!(got, [ids[1], ids[4]], "fair order across pages");
    for j in &claimed {
        assert_eq!(
            (j.state, j.attempt, j.lease_owner.as_deref()),
            (JobState::Running, 1, Some("w1"))
        );
    }
    let j0 = store.get_job(ids[0]).await.unwrap().unwrap();
    assert_eq!(j0.state, JobState::Completed);
    assert!(j0.finished_at.is_some());

    // A stale token is fenced; the claim goes ahead.
    let (report, claimed) = store
        .finish_and_claim(&[done(ids[1], 0)], "test", "w1", 1, now)
        .await
        .unwrap();
    assert_eq!((report.applied, report.fenced.clone()), (0, vec![ids[1]]));
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [ids[2]]);
    assert_eq!(
        store.get_job(ids[1]).await.unwrap().unwrap().state,
        JobState::Running,
        "a fenced acknowledgement changes nothing"
    );

    // Other outcomes take a transaction, with the claim in it.
    let retry = Finish {
        id: ids[1],
        attempt: 1,
        outcome: Outcome::Retry {
            at: now + chrono::TimeDelta::seconds(60),
            error: "try later".into(),
        },
    };
    let (report, claimed) = store
        .finish_and_claim(&[retry, done(ids[2], 1)], "test", "w1", 5, now)
        .await
        .unwrap();
    assert_eq!(report.applied, 2);
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        [ids[3]],
        "only what is available"
    );
    assert_eq!(
        store.get_job(ids[1]).await.unwrap().unwrap().state,
        JobState::Retryable
    );

    // A limit of 0 claims nothing; an empty queue gives nothing.
    let (_, none) = store
        .finish_and_claim(&[done(ids[3], 1)], "test", "w1", 0, now)
        .await
        .unwrap();
    assert!(none.is_empty());
    let (report, none) = store
        .finish_and_claim(&[done(ids[4], 1)], "test", "w1", 3, now)
        .await
        .unwrap();
    assert_eq!((report.applied, none.len()), (1, 0));
}

async fn acknowledging_one_by_one_runs_every_job_once_in_fair_order(b: Backend) {
    // Page A's 200 jobs queued before page B's 5, one slot, each outcome acknowledged on its
    // own (on SQLite, with the claim of the next job).
    let runs = drain_two_pages(b, 200, 1).await;
    let distinct: HashSet<i64> = runs.iter().map(|x| x.0).collect();
    assert_eq!((runs.len(), distinct.len()), (205, 205), "every job once");
    assert_page_b_served_early(&runs);
}

async fn shutdown_hands_back_jobs_claimed_by_acknowledgements(b: Backend) {
    // Arrange: a backlog of short jobs, four slots, outcomes acknowledged one by one.
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let jobs: Vec<NewJob> = (0..300)
        .map(|_| TEST.raw_job(None, json!({"sleep_ms": 2})))
        .collect();
    store.enqueue(&jobs, SystemClock.now()).await.unwrap();
    let w = start(
        &store,
        RunnerConfig {
            default_concurrency: 4,
            batch: 1,
            ack_batch: 1,
            ..config()
        },
    )
    .await;
    for _ in 0..400 {
        if w.recorder.runs.lock().unwrap().len() >= 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Act: stop in the middle of the drain.
    let r = w.stop().await;
    // Assert: nothing is left running; what did not run is available with its attempt
    // unspent; what ran completed, once.
    assert!(
        store
            .list_jobs(JobState::Running, 1000)
            .await
            .unwrap()
            .is_empty()
    );
    let completed = store.list_jobs(JobState::Completed, 1000).await.unwrap();
    let available = store.list_jobs(JobState::Available, 1000).await.unwrap();
    assert_eq!(completed.len() + available.len(), 300, "no job lost");
    assert!(
        !available.is_empty(),
        "stopped before the end of the backlog"
    );
    assert!(
        available.iter().all(|j| j.attempt == 0),
        "attempts given back"
    );
    let runs = r.runs.lock().unwrap().clone();
    let ran: HashSet<i64> = runs.iter().map(|x| x.0).collect();
    assert_eq!(runs.len(), ran.len(), "no job ran twice");
    let done: HashSet<i64> = completed.iter().map(|j| j.id).collect();
    assert_eq!(ran, done, "every job that ran completed");
}

both_backends!(
    finish_and_claim_acknowledges_and_claims_in_one_write,
    acknowledging_one_by_one_runs_every_job_once_in_fair_order,
    shutdown_hands_back_jobs_claimed_by_acknowledgements,
);
