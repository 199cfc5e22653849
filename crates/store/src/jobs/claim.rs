//! Claiming jobs and recording how their attempts ended: [`Store::claim_jobs`],
//! [`Store::finish_jobs`], and [`Store::finish_and_claim`], which does both in one
//! transaction, so the slots a worker's finished jobs free take their next jobs in the same
//! commit (one durable write per job instead of two when jobs are acknowledged one by one).

use chrono::{DateTime, Utc};

use super::{
    COMPLETIONS_PER_STATEMENT, Finish, FinishReport, Job, JobRow, JobState, Outcome, clip,
};
use crate::columns::cols;
use crate::db::{Backend, One, SqlBuilder, Tx, args};
use crate::{Result, Store};

/// What one queue's claim asks for.
#[derive(Debug, Clone, Copy)]
struct Claim<'a> {
    queue: &'a str,
    worker: &'a str,
    limit: i64,
    now: DateTime<Utc>,
}

impl Claim<'_> {
    /// Appends the claim: up to `limit` available jobs in fair order, their leases started
    /// and their attempt counted. PostgreSQL skips rows other claimers hold; SQLite's one
    /// writer serialises claims.
    fn push(&self, sql: &mut SqlBuilder, backend: Backend) {
        sql.push("UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = ")
            .bind(self.worker)
            .push(", lease_expires_at = ")
            .bind(self.now)
            .push(" + timeout_ms, attempted_at = ")
            .bind(self.now);
        sql.push(" WHERE id IN (SELECT id FROM jobs WHERE queue = ")
            .bind(self.queue)
            .push(" AND state = 'available' ORDER BY fair_seq, id LIMIT ")
            .bind(self.limit.max(0))
            .push(match backend {
                Backend::Postgres => concat!(" FOR UPDATE SKIP LOCKED) RETURNING ", cols!(jobs)),
                Backend::Sqlite => concat!(") RETURNING ", cols!(jobs)),
            });
    }
}

/// Appends the statement that completes `chunk` (each only if its attempt still owns the job,
/// the fencing check), returning `returning` of the rows it completed.
fn push_completion(
    sql: &mut SqlBuilder,
    chunk: &[&Finish],
    now: DateTime<Utc>,
    returning: &'static str,
) {
    sql.push("UPDATE jobs SET state = 'completed', finished_at = ")
        .bind(now)
        .push(", lease_owner = NULL, lease_expires_at = NULL WHERE ");
    push_owned(sql, chunk);
    sql.push(" RETURNING ").push(returning);
}

/// Appends the condition "still running under the attempt each of `chunk` claimed" (the
/// fencing check).
fn push_owned(sql: &mut SqlBuilder, chunk: &[&Finish]) {
    sql.push("state = 'running' AND (");
    for (i, f) in chunk.iter().enumerate() {
        sql.push(if i == 0 { "(id = " } else { " OR (id = " });
        sql.bind(f.id)
            .push(" AND attempt = ")
            .bind(f.attempt)
            .push(")");
    }
    sql.push(")");
}

impl FinishReport {
    /// Counts the completions of `chunk` of which `done` (the ids completed) applied; the
    /// rest were fenced.
    fn count_completions(&mut self, chunk: &[&Finish], done: impl IntoIterator<Item = i64>) {
        let done: Vec<i64> = done.into_iter().collect();
        self.applied += done.len();
        self.fenced
            .extend(chunk.iter().map(|f| f.id).filter(|id| !done.contains(id)));
    }
}

fn into_jobs(rows: Vec<JobRow>) -> Result<Vec<Job>> {
    let mut jobs = rows
        .into_iter()
        .map(JobRow::into_job)
        .collect::<Result<Vec<_>>>()?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// Applies every outcome of `finishes` inside `tx`.
async fn finish_in(
    tx: &mut Tx,
    finishes: &[Finish],
    now: DateTime<Utc>,
    report: &mut FinishReport,
) -> Result<()> {
    let completed: Vec<&Finish> = finishes
        .iter()
        .filter(|f| f.outcome == Outcome::Completed)
        .collect();
    for chunk in completed.chunks(COMPLETIONS_PER_STATEMENT) {
        let mut sql = SqlBuilder::default();
        push_completion(&mut sql, chunk, now, "id AS v");
        let (text, a) = sql.finish();
        let done: Vec<One<i64>> = tx.fetch_all(text, a).await?;
        report.count_completions(chunk, done.into_iter().map(|d| d.v));
    }
    for f in finishes.iter().filter(|f| f.outcome != Outcome::Completed) {
        let (run_at, error, force_discard) = match &f.outcome {
            Outcome::Retry { at, error } => (*at, clip(error), false),
            Outcome::Discard { error } => (now, clip(error), true),
            Outcome::Snooze { at } => {
                let n = tx
                    .execute(
                        "UPDATE jobs SET state = 'retryable', attempt = attempt - 1, run_at = $3, \
                           lease_owner = NULL, lease_expires_at = NULL \
                         WHERE id = $1 AND attempt = $2 AND state = 'running'",
                        args![f.id, f.attempt, *at],
                    )
                    .await?;
                if n == 1 {
                    report.applied += 1;
                } else {
                    report.fenced.push(f.id);
                }
                continue;
            }
            Outcome::Completed => continue,
        };
        let row: Option<One<String>> = tx
            .fetch_optional(
                "UPDATE jobs SET \
                   state = CASE WHEN $4 OR attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END, \
                   run_at = $3, last_error = $5, lease_owner = NULL, lease_expires_at = NULL, \
                   finished_at = CASE WHEN $4 OR attempt >= max_attempts THEN $6 ELSE NULL END \
                 WHERE id = $1 AND attempt = $2 AND state = 'running' RETURNING state AS v",
                args![f.id, f.attempt, run_at, force_discard, error, now],
            )
            .await?;
        match row {
            Some(state) => {
                report.applied += 1;
                if state.v == "discarded" {
                    report.discarded.push(f.id);
                }
            }
            None => report.fenced.push(f.id),
        }
    }
    Ok(())
}

/// SQLite has no data-modifying CTEs, and one statement costs less than a transaction
/// around two (fewer trips to the connection's thread): one `UPDATE` completes the running
/// jobs whose attempt matches (the fencing check) and claims available ones, telling them
/// apart by their state before the update.
fn push_sqlite_finish_and_claim(sql: &mut SqlBuilder, completed: &[&Finish], c: &Claim<'_>) {
    sql.push(
        "UPDATE jobs SET state = CASE WHEN state = 'running' THEN 'completed' ELSE 'running' END, \
         attempt = CASE WHEN state = 'running' THEN attempt ELSE attempt + 1 END, \
         lease_owner = CASE WHEN state = 'running' THEN NULL ELSE ",
    )
    .bind(c.worker)
    .push(" END, lease_expires_at = CASE WHEN state = 'running' THEN NULL ELSE ")
    .bind(c.now)
    .push(" + timeout_ms END, attempted_at = CASE WHEN state = 'running' THEN attempted_at ELSE ")
    .bind(c.now)
    .push(" END, finished_at = CASE WHEN state = 'running' THEN ")
    .bind(c.now)
    .push(" ELSE finished_at END WHERE (");
    push_owned(sql, completed);
    sql.push(") OR id IN (SELECT id FROM jobs WHERE queue = ")
        .bind(c.queue)
        .push(" AND state = 'available' ORDER BY fair_seq, id LIMIT ")
        .bind(c.limit.max(0))
        .push(concat!(") RETURNING ", cols!(jobs)));
}

/// Whether `finishes` are completions that one statement can apply.
fn one_statement(finishes: &[Finish]) -> Option<Vec<&Finish>> {
    (finishes.len() <= COMPLETIONS_PER_STATEMENT
        && finishes.iter().all(|f| f.outcome == Outcome::Completed))
    .then(|| finishes.iter().collect())
}

impl Store {
    /// Claims up to `limit` available jobs of `queue` for `worker`, in fair order, and starts
    /// their leases.
    pub async fn claim_jobs(
        &self,
        queue: &str,
        worker: &str,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Job>> {
        let mut sql = SqlBuilder::default();
        Claim {
            queue,
            worker,
            limit,
            now,
        }
        .push(&mut sql, self.db.backend());
        let (text, a) = sql.finish();
        // A claim lost with the machine's power leaves the job available: no need to wait
        // for the disk (the acknowledgement, a durable commit, makes it durable anyway).
        let rows: Vec<JobRow> = self.db.write_claim(text, a).await?;
        into_jobs(rows)
    }

    /// Applies attempt outcomes in one transaction. An outcome whose attempt no longer owns
    /// its job (fenced) changes nothing and is reported.
    pub async fn finish_jobs(
        &self,
        finishes: &[Finish],
        now: DateTime<Utc>,
    ) -> Result<FinishReport> {
        let mut report = FinishReport::default();
        if finishes.is_empty() {
            return Ok(report);
        }
        if let Some(completed) = one_statement(finishes) {
            // One statement: atomic without a transaction around it.
            let mut sql = SqlBuilder::default();
            push_completion(&mut sql, &completed, now, "id AS v");
            let (text, a) = sql.finish();
            let done: Vec<One<i64>> = self.db.write_one(text, a).await?;
            report.count_completions(&completed, done.into_iter().map(|d| d.v));
            return Ok(report);
        }
        let mut tx = self.db.begin().await?;
        finish_in(&mut tx, finishes, now, &mut report).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Applies attempt outcomes, as [`Store::finish_jobs`], and in the same transaction
    /// claims up to `limit` jobs of `queue` for `worker`, as [`Store::claim_jobs`]: the slots
    /// the outcomes free take their next jobs in the commit that frees them. Completions
    /// alone take one round trip on either database (on SQLite one call runs both
    /// statements between `BEGIN` and `COMMIT`; on PostgreSQL two data-modifying CTEs make
    /// them one statement); other outcomes take a transaction.
    pub async fn finish_and_claim(
        &self,
        finishes: &[Finish],
        queue: &str,
        worker: &str,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<(FinishReport, Vec<Job>)> {
        if limit <= 0 {
            return Ok((self.finish_jobs(finishes, now).await?, Vec::new()));
        }
        let claim = Claim {
            queue,
            worker,
            limit,
            now,
        };
        let backend = self.db.backend();
        let mut report = FinishReport::default();
        if let Some(completed) = one_statement(finishes).filter(|c| !c.is_empty()) {
            let mut sql = SqlBuilder::default();
            match backend {
                Backend::Sqlite => push_sqlite_finish_and_claim(&mut sql, &completed, &claim),
                Backend::Postgres => {
                    sql.push("WITH done AS (");
                    push_completion(&mut sql, &completed, now, cols!(jobs));
                    sql.push("), claimed AS (");
                    claim.push(&mut sql, backend);
                    sql.push(concat!(
                        ") SELECT ",
                        cols!(jobs),
                        " FROM done UNION ALL SELECT ",
                        cols!(jobs),
                        " FROM claimed"
                    ));
                }
            }
            let (text, a) = sql.finish();
            let rows: Vec<JobRow> = self.db.write_one(text, a).await?;
            // The completed rows are the acknowledgements that applied, the running ones
            // the claims.
            let (done, claimed): (Vec<JobRow>, Vec<JobRow>) = rows
                .into_iter()
                .partition(|r| r.state == JobState::Completed.as_str());
            report.count_completions(&completed, done.into_iter().map(|r| r.id));
            return Ok((report, into_jobs(claimed)?));
        }
        let mut tx = self.db.begin().await?;
        finish_in(&mut tx, finishes, now, &mut report).await?;
        let mut sql = SqlBuilder::default();
        claim.push(&mut sql, backend);
        let (text, a) = sql.finish();
        let claimed: Vec<JobRow> = tx.fetch_all(text, a).await?;
        tx.commit().await?;
        Ok((report, into_jobs(claimed)?))
    }
}
