-- herald: expand
-- Subscribers, the events they are told about, and what was delivered to them.

CREATE TABLE subscribers (
    id              TEXT PRIMARY KEY,
    page_id         TEXT NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    email           TEXT,
    phone_number    TEXT,
    phone_country   TEXT,
    endpoint        TEXT,
    incident_id     TEXT REFERENCES incidents (id) ON DELETE CASCADE,
    state           TEXT NOT NULL,
    -- Webhook signing secrets (whsec_...): the current one, and the one being rotated out
    -- with the time its overlap ends.
    secret          TEXT,
    previous_secret TEXT,
    previous_secret_until BIGINT,
    failures        BIGINT NOT NULL DEFAULT 0,
    paused_until    BIGINT,
    created_at      BIGINT NOT NULL,
    confirmed_at    BIGINT,
    quarantined_at  BIGINT,
    unsubscribed_at BIGINT,
    purge_at        BIGINT,
    -- Where the subscriber is reached, one key across channels: a page has one subscriber
    -- per target (and incident), so re-subscribing finds the existing one.
    target          TEXT NOT NULL
);
CREATE UNIQUE INDEX subscribers_target ON subscribers (page_id, channel, target, COALESCE(incident_id, ''));
CREATE INDEX subscribers_fanout ON subscribers (page_id, state, id);
CREATE INDEX subscribers_purge ON subscribers (purge_at) WHERE purge_at IS NOT NULL;

CREATE TABLE subscriber_components (
    subscriber_id TEXT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    component_id  TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    PRIMARY KEY (subscriber_id, component_id)
);
CREATE INDEX subscriber_components_component ON subscriber_components (component_id);

-- Something subscribers are told about. `payload` is rendered once, by the fan-out job, so
-- every delivery and every retry of one event carries the same body.
CREATE TABLE notification_events (
    id           TEXT PRIMARY KEY,
    page_id      TEXT NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    incident_id  TEXT,
    update_id    TEXT,
    component_id TEXT,
    -- Facts the payload needs that may change later (a component's old and new status).
    data         TEXT,
    payload      TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX notification_events_page ON notification_events (page_id, created_at);

-- What happened to each (event, subscriber): the delivery log. `id` is the webhook-id /
-- Message-ID, the same for every attempt and replay.
CREATE TABLE deliveries (
    id            TEXT PRIMARY KEY,
    event_id      TEXT NOT NULL,
    subscriber_id TEXT NOT NULL,
    page_id       TEXT NOT NULL,
    channel       TEXT NOT NULL,
    state         TEXT NOT NULL,
    attempts      BIGINT NOT NULL,
    last_status   BIGINT,
    last_error    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    delivered_at  BIGINT
);
CREATE INDEX deliveries_page ON deliveries (page_id, updated_at);
CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id, updated_at);

-- Sliding-window rate limits shared by every node (subscribe form abuse).
CREATE TABLE rate_events (
    bucket TEXT NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX rate_events_bucket ON rate_events (bucket, at);

-- Secrets herald generates for itself once and every node shares (the key that signs
-- manage and unsubscribe links).
CREATE TABLE instance_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
