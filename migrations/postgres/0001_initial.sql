-- herald: expand
-- Herald's first schema. Times are BIGINT milliseconds since the Unix epoch (UTC) on both
-- backends, so the same SQL and the same Rust types serve SQLite and PostgreSQL.

CREATE TABLE pages (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    domain      TEXT UNIQUE,
    time_zone   TEXT NOT NULL,
    settings    TEXT NOT NULL,
    hidden      BOOLEAN NOT NULL DEFAULT FALSE,
    version     BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE components (
    id                    TEXT PRIMARY KEY,
    page_id               TEXT NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    group_id              TEXT REFERENCES components (id) ON DELETE SET NULL,
    is_group              BOOLEAN NOT NULL,
    name                  TEXT NOT NULL,
    description           TEXT,
    status                TEXT NOT NULL,
    position              BIGINT NOT NULL,
    showcase              BOOLEAN NOT NULL,
    only_show_if_degraded BOOLEAN NOT NULL,
    start_date            TEXT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX components_page ON components (page_id, position);
CREATE INDEX components_group ON components (group_id);

-- Every status a component has had, from when: the source of uptime.
CREATE TABLE component_status_log (
    id           BIGSERIAL PRIMARY KEY,
    component_id TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    page_id      TEXT NOT NULL,
    status       TEXT NOT NULL,
    at           BIGINT NOT NULL
);
-- Rows of one page are written in commit order with non-decreasing times (see write.rs),
-- so (at, id) orders a component's history.
CREATE INDEX component_status_log_component ON component_status_log (component_id, at, id);

CREATE TABLE incidents (
    id                  TEXT PRIMARY KEY,
    page_id             TEXT NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    kind                TEXT NOT NULL,
    name                TEXT NOT NULL,
    status              TEXT NOT NULL,
    impact              TEXT NOT NULL,
    impact_override     TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    started_at          BIGINT NOT NULL,
    monitoring_at       BIGINT,
    resolved_at         BIGINT,
    scheduled_for       BIGINT,
    scheduled_until     BIGINT,
    scheduled_reminded_at BIGINT,
    scheduled_remind_prior  BOOLEAN NOT NULL,
    scheduled_auto_in_progress BOOLEAN NOT NULL,
    scheduled_auto_completed BOOLEAN NOT NULL,
    auto_transition_to_maintenance_state BOOLEAN NOT NULL,
    auto_transition_to_operational_state BOOLEAN NOT NULL,
    auto_transition_deliver_notifications_at_start BOOLEAN NOT NULL,
    auto_transition_deliver_notifications_at_end BOOLEAN NOT NULL,
    backfilled          BOOLEAN NOT NULL,
    metadata            TEXT NOT NULL,
    pm_body             TEXT,
    pm_body_updated_at  BIGINT,
    pm_body_draft       TEXT,
    pm_body_draft_updated_at BIGINT,
    pm_published_at     BIGINT,
    pm_notify_subscribers BOOLEAN NOT NULL,
    pm_notify_twitter   BOOLEAN NOT NULL,
    pm_custom_tweet     TEXT,
    pm_ignored          BOOLEAN NOT NULL,
    pm_notified_subscribers BOOLEAN NOT NULL,
    pm_notified_twitter BOOLEAN NOT NULL,
    pm_created_at       BIGINT,
    pm_updated_at       BIGINT
);
CREATE INDEX incidents_page_created ON incidents (page_id, created_at);
CREATE INDEX incidents_page_status ON incidents (page_id, status);

CREATE TABLE incident_components (
    incident_id  TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    position     BIGINT NOT NULL,
    PRIMARY KEY (incident_id, component_id)
);
CREATE INDEX incident_components_component ON incident_components (component_id);

CREATE TABLE incident_updates (
    id                    TEXT PRIMARY KEY,
    incident_id           TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    status                TEXT NOT NULL,
    body                  TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    display_at            BIGINT NOT NULL,
    deliver_notifications BOOLEAN NOT NULL,
    custom_tweet          TEXT,
    tweet_id              TEXT,
    wants_twitter_update  BOOLEAN NOT NULL,
    twitter_updated_at    BIGINT,
    -- JSON array of {code, name, old_status, new_status}, or NULL when none changed.
    affected_components   TEXT,
    -- 1, 2, 3... per incident in commit order: orders updates posted in the same millisecond.
    seq                   BIGINT NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, display_at, seq);

CREATE TABLE incident_templates (
    id                        TEXT PRIMARY KEY,
    page_id                   TEXT NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    name                      TEXT NOT NULL,
    title                     TEXT NOT NULL,
    body                      TEXT NOT NULL,
    group_id                  TEXT,
    update_status             TEXT,
    should_tweet              BOOLEAN NOT NULL,
    should_send_notifications BOOLEAN NOT NULL,
    component_ids             TEXT NOT NULL,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);
CREATE INDEX incident_templates_page ON incident_templates (page_id);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    disabled_at   BIGINT
);

-- API keys: only the SHA-256 of the key is kept, with a visible prefix and last four.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    last4       TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,
    read_only   BOOLEAN NOT NULL,
    all_pages   BOOLEAN NOT NULL,
    user_id     TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE api_key_pages (
    key_id  TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    page_id TEXT NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, page_id)
);
CREATE INDEX api_key_pages_page ON api_key_pages (page_id);

-- Append-only: no code path updates or deletes these rows.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    page_id     TEXT,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    changes     TEXT NOT NULL,
    source_ip   TEXT
);
CREATE INDEX audit_log_page ON audit_log (page_id, at);
