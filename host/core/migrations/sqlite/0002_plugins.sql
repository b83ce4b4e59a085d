-- Plugins: installed components, their versions, configuration, key-value
-- stores, invocation records and the outbound HTTP audit log.

CREATE TABLE plugins (
    name            TEXT PRIMARY KEY,
    active_version  TEXT NOT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    suspended_reason TEXT,
    created_at      BIGINT NOT NULL,
    changed_at      BIGINT NOT NULL
);

CREATE TABLE plugin_versions (
    name            TEXT NOT NULL REFERENCES plugins(name) ON DELETE CASCADE,
    version         TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    world           TEXT NOT NULL,
    manifest        TEXT NOT NULL,
    component       BLOB NOT NULL,
    signed_by       TEXT,
    installed_at    BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE plugin_config (
    name            TEXT NOT NULL REFERENCES plugins(name) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    value           TEXT NOT NULL,
    secret          INTEGER NOT NULL,
    PRIMARY KEY (name, key)
);

CREATE TABLE plugin_kv (
    name            TEXT NOT NULL REFERENCES plugins(name) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    value           BLOB NOT NULL,
    PRIMARY KEY (name, key)
);

CREATE TABLE plugin_invocations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    plugin          TEXT NOT NULL,
    version         TEXT NOT NULL,
    world           TEXT NOT NULL,
    function        TEXT NOT NULL,
    started_at      BIGINT NOT NULL,
    duration_us     BIGINT NOT NULL,
    fuel_used       BIGINT,
    peak_memory     BIGINT NOT NULL,
    outcome         TEXT NOT NULL,
    error_kind      TEXT,
    error           TEXT,
    logs            TEXT NOT NULL
);
CREATE INDEX plugin_invocations_plugin ON plugin_invocations(plugin, id);

CREATE TABLE plugin_http_audit (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    plugin          TEXT NOT NULL,
    version         TEXT NOT NULL,
    method          TEXT NOT NULL,
    scheme          TEXT NOT NULL,
    host            TEXT NOT NULL,
    port            BIGINT NOT NULL,
    status          BIGINT,
    bytes           BIGINT NOT NULL,
    duration_us     BIGINT NOT NULL,
    outcome         TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX plugin_http_audit_plugin ON plugin_http_audit(plugin, id);

CREATE TABLE trusted_keys (
    name            TEXT PRIMARY KEY,
    public_key      TEXT NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL
);
