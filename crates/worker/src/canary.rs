//! The canary job: records that a worker ran it (in `canary_runs`), optionally after taking
//! some time. `herald verify` uses it to prove the worker tier runs jobs; the kill -9 tests
//! use slow canaries to catch workers mid-job.

use herald_store::kinds::CANARY;
use std::time::Duration;

use crate::handler::{BoxFuture, Handler, JobContext, JobError, Registry};

/// Longest a canary may ask to sleep.
const MAX_SLEEP: Duration = Duration::from_secs(10);

/// Runs canary jobs.
#[derive(Debug, Default)]
pub struct Canary;

impl Handler for Canary {
    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let p = &ctx.job.payload;
            let nonce = p["nonce"].as_str().unwrap_or("").to_owned();
            let sleep = Duration::from_millis(p["sleep_ms"].as_u64().unwrap_or(0)).min(MAX_SLEEP);
            if !sleep.is_zero() {
                tokio::time::sleep(sleep).await;
            }
            ctx.store
                .record_canary_run(ctx.job.id, &nonce, &ctx.worker_id, ctx.clock.now())
                .await
                .map_err(JobError::retry)
        })
    }
}

/// Registers the canary.
pub fn register(r: &mut Registry) {
    r.register(CANARY, Canary);
}
