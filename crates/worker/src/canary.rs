//! The canary job: records that a worker ran it (in `canary_runs`), optionally after taking
//! some time. `herald verify` uses it to prove the worker tier runs jobs; the kill -9 tests
//! use slow canaries to catch workers mid-job.

use herald_store::kinds::{CANARY, CanaryJob};
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
            let job: CanaryJob = ctx.payload()?;
            let sleep = Duration::from_millis(job.sleep_ms.unwrap_or(0)).min(MAX_SLEEP);
            if !sleep.is_zero() {
                tokio::time::sleep(sleep).await;
            }
            ctx.store
                .record_canary_run(ctx.job.id, &job.nonce, &ctx.worker_id, ctx.clock.now())
                .await?;
            Ok(())
        })
    }
}

/// Registers the canary.
pub fn register(r: &mut Registry) {
    r.register(CANARY.spec, Canary);
}
