-- Inventory, alerting, models: the small relational tables, the same on every path.
-- Natural keys everywhere so a message delivered twice is written once.

CREATE TABLE devices (
    id             serial PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    address        text NOT NULL,
    port           integer NOT NULL DEFAULT 161,
    snmp_version   text NOT NULL DEFAULT 'v2c' CHECK (snmp_version IN ('v1', 'v2c', 'v3', 'none')),
    poll_interval  double precision NOT NULL DEFAULT 60,
    modules        text[] NOT NULL DEFAULT ARRAY['system', 'interfaces', 'host'],
    tags           jsonb NOT NULL DEFAULT '{}'::jsonb,
    parent         text REFERENCES devices (name) ON UPDATE CASCADE ON DELETE SET NULL,
    enabled        boolean NOT NULL DEFAULT true,
    sys_name       text,
    sys_descr      text,
    sys_object_id  text,
    status         text NOT NULL DEFAULT 'unknown',
    last_seen      timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_address_idx ON devices (address);
CREATE INDEX devices_tags_idx ON devices USING gin (tags);

-- Secrets live apart from the inventory so the app's read-only role can be
-- denied them outright (as snmp_exporter keeps `auths` apart from targets).
CREATE TABLE device_credentials (
    device        text PRIMARY KEY REFERENCES devices (name) ON UPDATE CASCADE ON DELETE CASCADE,
    community     text,
    v3_user       text,
    v3_level      text CHECK (v3_level IN ('noAuthNoPriv', 'authNoPriv', 'authPriv')),
    v3_auth_proto text,
    v3_auth_key   text,
    v3_priv_proto text,
    v3_priv_key   text,
    v3_engine_id  text,
    v3_context    text
);

CREATE TABLE interfaces (
    device       text NOT NULL REFERENCES devices (name) ON UPDATE CASCADE ON DELETE CASCADE,
    if_index     integer NOT NULL,
    name         text,
    alias        text,
    descr        text,
    speed_bps    double precision,
    admin_status integer,
    oper_status  integer,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device, if_index)
);

CREATE TABLE lldp_neighbors (
    device          text NOT NULL REFERENCES devices (name) ON UPDATE CASCADE ON DELETE CASCADE,
    local_port      text NOT NULL,
    remote_chassis  text NOT NULL,
    remote_sys_name text,
    remote_port     text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device, local_port, remote_chassis)
);

-- One row per time series; samples refer to it by a 4-byte id (as Zabbix items)
-- so a sample row is ~50 bytes instead of carrying three strings.
CREATE TABLE series (
    id        serial PRIMARY KEY,
    device    text NOT NULL,
    metric    text NOT NULL,
    instance  text NOT NULL DEFAULT '',
    unit      text NOT NULL DEFAULT '',
    label     text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (device, metric, instance)
);
CREATE INDEX series_metric_idx ON series (metric);

CREATE TABLE alerts (
    key             text PRIMARY KEY,
    rule            text NOT NULL,
    device          text NOT NULL,
    instance        text NOT NULL DEFAULT '',
    metric          text NOT NULL DEFAULT '',
    kind            text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'minor', 'major', 'critical')),
    state           text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved', 'suppressed')),
    summary         text NOT NULL,
    value           double precision,
    threshold       double precision,
    expected_low    double precision,
    expected_high   double precision,
    score           double precision,
    flapping        boolean NOT NULL DEFAULT false,
    root_cause      text,
    tags            jsonb NOT NULL DEFAULT '{}'::jsonb,
    started         timestamptz NOT NULL,
    updated         timestamptz NOT NULL,
    acknowledged_by text,
    acknowledged_at timestamptz,
    resolved_at     timestamptz,
    false_positive  boolean NOT NULL DEFAULT false
);
CREATE INDEX alerts_state_idx ON alerts (state, severity);
CREATE INDEX alerts_device_idx ON alerts (device);

-- The alert's timeline: transitions, notifications, remediation output, notes.
CREATE TABLE alert_events (
    id       bigserial PRIMARY KEY,
    key      text NOT NULL,
    ts       timestamptz NOT NULL,
    kind     text NOT NULL,  -- transition | notify | notify_failed | remediation | note | ack | false_positive | escalation
    actor    text NOT NULL DEFAULT 'system',
    from_state text,
    to_state   text,
    detail   jsonb NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (key, ts, kind, actor)
);
CREATE INDEX alert_events_key_idx ON alert_events (key, ts);

CREATE TABLE silences (
    id         serial PRIMARY KEY,
    matcher    jsonb NOT NULL,  -- {"device": ..., "rule": ..., "tags": {...}}
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    created_by text NOT NULL,
    comment    text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);

CREATE TABLE threshold_rules (
    name       text PRIMARY KEY,
    definition jsonb NOT NULL,
    enabled    boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_registry (
    id          serial PRIMARY KEY,
    family      text NOT NULL,      -- series family, e.g. "interface", "cpu", "default"
    version     integer NOT NULL,
    algorithm   text NOT NULL,
    params      jsonb NOT NULL DEFAULT '{}'::jsonb,
    metrics     jsonb NOT NULL DEFAULT '{}'::jsonb,
    artefact    bytea,
    stage       text NOT NULL DEFAULT 'candidate' CHECK (stage IN ('candidate', 'production', 'archived')),
    created_by  text NOT NULL DEFAULT 'system',
    created_at  timestamptz NOT NULL DEFAULT now(),
    promoted_at timestamptz,
    UNIQUE (family, version)
);
-- At most one production version per family.
CREATE UNIQUE INDEX model_registry_production_idx ON model_registry (family) WHERE stage = 'production';

CREATE TABLE app_audit (
    id     bigserial PRIMARY KEY,
    ts     timestamptz NOT NULL DEFAULT now(),
    actor  text NOT NULL,
    action text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- Heartbeats of collectors and workers, for the app's pipeline-health view.
CREATE TABLE component_health (
    component  text PRIMARY KEY,
    last_seen  timestamptz NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}'::jsonb
);
