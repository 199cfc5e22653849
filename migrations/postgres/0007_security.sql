-- herald: expand
-- Security hardening (expand-only: the previous release ignores both changes).

-- Whether the page's team added the subscriber (v1 API, admin UI, CLI) rather than a visitor
-- through the public subscribe form. Private pages (`viewers_must_be_team_members`) notify
-- only these. Existing subscribers are marked from the audit entry that created them;
-- without one they stay FALSE, the safe side.
ALTER TABLE subscribers ADD COLUMN added_by_team BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE subscribers SET added_by_team = TRUE
 WHERE id IN (SELECT target_id FROM audit_log
               WHERE action = 'subscriber.create' AND target_type = 'subscriber' AND actor_type <> 'public');

-- Failed sign-ins per (lowercased) email *and* client address: a run of failures locks that
-- address out of that account only, so nobody can lock the on-call engineer out of /admin
-- from elsewhere. Replaces admin_login_failures (left in place for the previous release).
CREATE TABLE admin_login_throttle (
    email        TEXT NOT NULL,
    client       TEXT NOT NULL,
    failures     BIGINT NOT NULL,
    locked_until BIGINT,
    PRIMARY KEY (email, client)
);
