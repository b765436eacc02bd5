-- Console logins that survive a reload (app_streamlit/tokens.py, sessions.py).
-- The browser holds an opaque random token in an HttpOnly cookie; only its
-- SHA-256 is stored here, so a copy of this table (backup, replica, a leaked
-- dump) lets nobody log in. A login first creates the row with a one-time
-- handoff code (hash and a short expiry); the browser trades that code for
-- the real token (token_hash set, handoff cleared) at /api/netvigil/session.
-- `stamp` is a digest of the user's role and password hash at login: when
-- either changes in the config, or the user is removed, the session no longer
-- validates. Rows past expires_at, or unused for the idle limit, are refused
-- and swept.
CREATE TABLE app_sessions (
    id              bigserial PRIMARY KEY,
    token_hash      bytea UNIQUE,
    handoff_hash    bytea UNIQUE,
    handoff_expires timestamptz,
    username        text NOT NULL,
    role            text NOT NULL,
    stamp           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen       timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    CHECK (token_hash IS NOT NULL OR handoff_hash IS NOT NULL)
);
CREATE INDEX app_sessions_user_idx ON app_sessions (username);
CREATE INDEX app_sessions_expires_idx ON app_sessions (expires_at);

-- 0004 grants the read-only role SELECT on every new table by default: not
-- this one. Only the read-write role (the app's session store) touches it.
REVOKE ALL ON app_sessions FROM "{{RO_ROLE}}";
REVOKE ALL ON SEQUENCE app_sessions_id_seq FROM "{{RO_ROLE}}";
