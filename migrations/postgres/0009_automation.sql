-- herald: expand
-- Automation (issue 15): integrations (Alertmanager, webhooks, heartbeats, checks), the
-- state of every alert they reported, and what automation knows of each component. Only new
-- tables: the previous release ignores them.

-- One integration of a page. Its token is stored as a SHA-256 hash, with a visible prefix.
CREATE TABLE integrations (
    id              TEXT PRIMARY KEY,
    page_id         TEXT NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    token_prefix    TEXT NOT NULL,
    -- JSON: rules, flap window, check settings.
    config          TEXT NOT NULL,
    requests        BIGINT NOT NULL DEFAULT 0,
    last_request_at BIGINT,
    -- Heartbeats and checks: JSON of what the last runs found, and when the next is due.
    check_state     TEXT NOT NULL DEFAULT '{}',
    check_due_at    BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX integrations_page ON integrations (page_id);
CREATE INDEX integrations_due ON integrations (check_due_at);

-- Every alert an integration reported, keyed by its fingerprint (one row for the copies
-- several Alertmanagers send).
CREATE TABLE integration_alerts (
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    fingerprint    TEXT NOT NULL,
    page_id        TEXT NOT NULL,
    component_id   TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    status         TEXT NOT NULL,
    firing         BOOLEAN NOT NULL,
    starts_at      BIGINT NOT NULL,
    ends_at        BIGINT,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (integration_id, fingerprint)
);
CREATE INDEX integration_alerts_component ON integration_alerts (component_id, firing);

-- What automation last wanted for a component, what it last did, what waits for the flap
-- window and what an open incident held back.
CREATE TABLE component_automation (
    component_id   TEXT PRIMARY KEY REFERENCES components (id) ON DELETE CASCADE,
    page_id        TEXT NOT NULL,
    desired        TEXT,
    changed_at     BIGINT,
    changed_by     TEXT,
    changed_reason TEXT,
    pending_status TEXT,
    pending_source TEXT,
    pending_reason TEXT,
    pending_due_at BIGINT,
    held_status    TEXT,
    held_source    TEXT,
    held_reason    TEXT,
    held_at        BIGINT,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX component_automation_page ON component_automation (page_id);
CREATE INDEX component_automation_due ON component_automation (pending_due_at);
