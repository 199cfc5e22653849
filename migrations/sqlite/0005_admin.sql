-- herald: expand
-- Admin UI: sessions and login throttling (expand-only; users.role already exists).

-- A signed-in browser. Only the SHA-256 of the cookie's token is stored; the CSRF token is
-- per session and sent back in every admin form.
CREATE TABLE admin_sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX admin_sessions_user ON admin_sessions (user_id);

-- Failed logins per (lowercased) email; a run of failures locks the address for a while.
CREATE TABLE admin_login_failures (
    email        TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    locked_until BIGINT
);
