-- herald: expand
-- System metrics (issue 13): providers, metrics, 30 s points and their rollups. Only new
-- tables: the previous release ignores them.

-- Where a page's metrics come from: `Self` (pushed through the API) or a provider herald
-- polls (`Prometheus`, `Datadog`, `NewRelic`). `credentials` is a JSON object of the
-- provider's secrets (api_key, application_key); the API never returns it and nothing
-- logs it. `settings` holds non-secret extras (New Relic's account id).
CREATE TABLE metrics_providers (
    id                  TEXT PRIMARY KEY,
    page_id             TEXT NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    type                TEXT NOT NULL,
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    metric_base_uri     TEXT,
    credentials         TEXT NOT NULL DEFAULT '{}',
    settings            TEXT NOT NULL DEFAULT '{}',
    last_revalidated_at BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX metrics_providers_page ON metrics_providers (page_id);

-- A metric. `watermark` is the newest 30 s bucket (unix seconds) a pulled metric holds: the
-- next poll asks its provider from there to now; `fetched_to` is the end of the range its
-- polls have asked so far (the backfill's progress). `backfill_from` is where the first poll
-- started (created_at - 28 days). `data_rev` grows with every write of points, so the nodes'
-- page models notice new points without a page version per point.
CREATE TABLE metrics (
    id                  TEXT PRIMARY KEY,
    page_id             TEXT NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    provider_id         TEXT NOT NULL REFERENCES metrics_providers (id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    metric_identifier   TEXT NOT NULL DEFAULT '',
    transform           TEXT NOT NULL DEFAULT 'average',
    suffix              TEXT NOT NULL DEFAULT '',
    y_axis_min          REAL,
    y_axis_max          REAL,
    y_axis_hidden       BOOLEAN NOT NULL DEFAULT FALSE,
    display             BOOLEAN NOT NULL DEFAULT TRUE,
    decimal_places      BIGINT NOT NULL DEFAULT 0,
    tooltip_description TEXT NOT NULL DEFAULT '',
    position            BIGINT NOT NULL DEFAULT 0,
    backfill_from       BIGINT NOT NULL,
    watermark           BIGINT,
    fetched_to          BIGINT,
    most_recent_data_at BIGINT,
    last_fetched_at     BIGINT,
    last_error          TEXT,
    last_error_at       BIGINT,
    data_rev            BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX metrics_page ON metrics (page_id, position);
CREATE INDEX metrics_provider ON metrics (provider_id);

-- One value per metric per 30 s bucket (unix seconds, a multiple of 30); the last write wins.
CREATE TABLE metric_points (
    metric_id TEXT NOT NULL REFERENCES metrics (id) ON DELETE CASCADE,
    bucket    BIGINT NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (metric_id, bucket)
);

-- 5-minute (width 300) and 1-hour (width 3600) aggregates of the points, recomputed from
-- them in the transaction that writes them; a chart applies the metric's transform.
CREATE TABLE metric_rollups (
    metric_id TEXT NOT NULL REFERENCES metrics (id) ON DELETE CASCADE,
    width     BIGINT NOT NULL,
    bucket    BIGINT NOT NULL,
    n         BIGINT NOT NULL,
    total     REAL NOT NULL,
    low       REAL NOT NULL,
    high      REAL NOT NULL,
    PRIMARY KEY (metric_id, width, bucket)
);
