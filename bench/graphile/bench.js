// graphile-worker, the PostgreSQL peer of herald's queue benchmark (driven by ../queue.sh).
// Prints one JSON line per measurement, in the format of `queue-bench`, so
// `queue-bench summarize` tables both.
//
//   node bench.js drain   --db URL --jobs N --concurrency C [--batched --local-queue S --complete-delay MS] [--round R]
//   node bench.js latency --db URL --samples N [--gap-ms MS] [--round R]
//
// Every run starts from a fresh `graphile_worker` schema in the database given (its own
// database, `herald_bench_graphile`, on the same server as herald's).
"use strict";
const { run, makeWorkerUtils, runMigrations } = require("graphile-worker");
const { Client } = require("pg");

function args() {
  const a = process.argv.slice(2);
  const out = { cmd: a[0] };
  for (let i = 1; i < a.length; i++) {
    const k = a[i].replace(/^--/, "");
    if (i + 1 < a.length && !a[i + 1].startsWith("--")) out[k] = a[++i];
    else out[k] = true;
  }
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const { Logger } = require("graphile-worker");
const logger = new Logger(() => (level, message) => {
  if (level === "error") console.error(message);
});

async function fresh(db) {
  const c = new Client({ connectionString: db });
  await c.connect();
  await c.query("DROP SCHEMA IF EXISTS graphile_worker CASCADE");
  await c.end();
  await runMigrations({ connectionString: db, logger });
}

async function remaining(db) {
  const c = new Client({ connectionString: db });
  await c.connect();
  const r = await c.query("SELECT COUNT(*)::int AS n FROM graphile_worker._private_jobs");
  await c.end();
  return r.rows[0].n;
}

async function drain(o) {
  const db = o.db;
  const n = Number(o.jobs || 10000);
  const concurrency = Number(o.concurrency || 16);
  const batched = !!o.batched;
  await fresh(db);
  const utils = await makeWorkerUtils({ connectionString: db, logger });
  const t0 = performance.now();
  for (let i = 0; i < n; i += 10000) {
    const k = Math.min(10000, n - i);
    await utils.addJobs(Array.from({ length: k }, () => ({ identifier: "noop", payload: {} })));
  }
  const enqueueSecs = (performance.now() - t0) / 1000;
  await utils.release();

  let done = 0;
  const worker = {
    connectionString: db,
    concurrentJobs: concurrency,
    maxPoolSize: Math.max(10, concurrency + 2),
    pollInterval: 1000,
  };
  if (batched) {
    worker.localQueue = { size: Number(o["local-queue"] || 100) };
    worker.completeJobBatchDelay = Number(o["complete-delay"] || 0);
  }
  const start = performance.now();
  const runner = await run({
    logger,
    noHandleSignals: true,
    preset: { worker },
    taskList: { noop: async () => { done++; } },
  });
  while (done < n) await sleep(1);
  // Completions are committed (rows deleted) after the tasks return; wait for the table to empty.
  while ((await remaining(db)) > 0) await sleep(1);
  const secs = (performance.now() - start) / 1000;
  await runner.stop();
  console.log(JSON.stringify({
    system: "graphile-worker", backend: "postgres", round: Number(o.round || 1),
    case: batched ? "drain_batched" : "drain_per_job", jobs: n, concurrency,
    local_queue: batched ? worker.localQueue.size : null,
    complete_delay_ms: batched ? worker.completeJobBatchDelay : null,
    enqueue_per_s: n / enqueueSecs, secs, jobs_per_s: n / secs,
  }));
}

async function latency(o) {
  const db = o.db;
  const samples = Number(o.samples || 500);
  const gap = Number(o["gap-ms"] || 10);
  await fresh(db);
  const started = new Map();
  const waiters = new Map();
  const runner = await run({
    logger,
    noHandleSignals: true,
    preset: { worker: { connectionString: db, concurrentJobs: 16, pollInterval: 1000 } },
    taskList: {
      probe: async (p) => {
        started.set(p.i, performance.now());
        const w = waiters.get(p.i);
        if (w) w();
      },
    },
  });
  // A separate pool: the job reaches the runner through NOTIFY.
  const utils = await makeWorkerUtils({ connectionString: db, logger });
  await sleep(500);
  const warmup = 20;
  const got = [];
  const afterCommit = [];
  for (let i = 0; i < warmup + samples; i++) {
    const t0 = performance.now();
    await utils.addJob("probe", { i });
    const committed = performance.now();
    if (!started.has(i)) {
      const t = await Promise.race([
        new Promise((r) => waiters.set(i, () => r(true))),
        sleep(10000).then(() => false),
      ]);
      if (!t) throw new Error(`probe ${i} never started`);
    }
    if (i >= warmup) {
      got.push(started.get(i) - t0);
      afterCommit.push(Math.max(0, started.get(i) - committed));
    }
    await sleep(gap);
  }
  await utils.release();
  await runner.stop();
  got.sort((a, b) => a - b);
  afterCommit.sort((a, b) => a - b);
  const pct = (q, v = got) => v[Math.min(v.length, Math.max(1, Math.ceil(q * v.length))) - 1];
  console.log(JSON.stringify({
    system: "graphile-worker", backend: "postgres", round: Number(o.round || 1),
    case: "latency", samples: got.length, p50_ms: pct(0.5), p99_ms: pct(0.99), max_ms: got[got.length - 1],
    after_commit_p50_ms: pct(0.5, afterCommit), after_commit_p99_ms: pct(0.99, afterCommit),
    path: "LISTEN/NOTIFY",
  }));
}

const o = args();
(o.cmd === "drain" ? drain(o) : o.cmd === "latency" ? latency(o) : Promise.reject(new Error(`unknown command ${o.cmd}`)))
  .then(() => process.exit(0))
  .catch((e) => { console.error(e); process.exit(1); });
