-- herald: expand
-- The durable job queue (crates/worker, crates/store/src/jobs.rs).
--
-- States: scheduled (run_at in the future) → available → running → completed | retryable |
-- discarded | cancelled; retryable and scheduled jobs are promoted to available when their
-- run_at comes. `attempt` counts claims and is the fencing token: a worker may finish a job
-- only with the attempt it claimed. `fair_seq` is the job's position in its page's backlog
-- of its queue: claiming in (fair_seq, id) order serves pages round-robin, so one page's
-- 100,000 jobs never starve another page.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    queue            TEXT NOT NULL,
    kind             TEXT NOT NULL,
    page_id          TEXT,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempt          BIGINT NOT NULL DEFAULT 0,
    max_attempts     BIGINT NOT NULL,
    timeout_ms       BIGINT NOT NULL,
    fair_seq         BIGINT NOT NULL,
    run_at           BIGINT NOT NULL,
    unique_key       TEXT,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    attempted_at     BIGINT,
    finished_at      BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE unique_key IS NOT NULL;
CREATE INDEX jobs_claim ON jobs (queue, fair_seq, id) WHERE state = 'available';
CREATE INDEX jobs_due_since ON jobs (queue, run_at) WHERE state = 'available';
CREATE INDEX jobs_waiting ON jobs (run_at) WHERE state IN ('scheduled', 'retryable');
CREATE INDEX jobs_backlog ON jobs (queue, page_id, fair_seq) WHERE state IN ('available', 'scheduled', 'retryable', 'running');
CREATE INDEX jobs_running ON jobs (lease_owner) WHERE state = 'running';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('completed', 'discarded', 'cancelled');

-- One row per running worker process; `heartbeat_at` lets the sweeper find dead ones.
CREATE TABLE workers (
    id           TEXT PRIMARY KEY,
    hostname     TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

-- Last outcome of each reconciler, whichever node ran it.
CREATE TABLE reconciler_runs (
    name            TEXT PRIMARY KEY,
    node            TEXT NOT NULL,
    last_run_at     BIGINT NOT NULL,
    last_success_at BIGINT,
    last_error      TEXT
);

-- What canary jobs did (herald verify, and the kill -9 tests): one row per execution.
CREATE TABLE canary_runs (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id    BIGINT NOT NULL,
    nonce     TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX canary_runs_nonce ON canary_runs (nonce);
