-- Time-series tables, shared by both paths. 0003 then makes them TimescaleDB
-- hypertables, or (plain PostgreSQL) attaches daily partitions and BRIN indexes.
-- The tables here are created as partitioned parents only on the plain path;
-- the migration runner substitutes {{PARTITION}} with "PARTITION BY RANGE (ts)"
-- there and with "" when TimescaleDB is present (hypertables cannot be made
-- from declaratively partitioned tables).

CREATE TABLE metric_samples (
    series_id integer NOT NULL,
    ts        timestamptz NOT NULL,
    value     double precision NOT NULL,
    flag      text,  -- e.g. 'above_speed': computed but not trusted
    PRIMARY KEY (series_id, ts)
) {{PARTITION}};

CREATE TABLE rollup_1m (
    series_id integer NOT NULL,
    ts        timestamptz NOT NULL,  -- bucket start
    n         integer NOT NULL,
    avg       double precision NOT NULL,
    min       double precision NOT NULL,
    max       double precision NOT NULL,
    p95       double precision,
    PRIMARY KEY (series_id, ts)
) {{PARTITION}};

CREATE TABLE rollup_1h (
    series_id integer NOT NULL,
    ts        timestamptz NOT NULL,
    n         integer NOT NULL,
    avg       double precision NOT NULL,
    min       double precision NOT NULL,
    max       double precision NOT NULL,
    p95       double precision,
    PRIMARY KEY (series_id, ts)
) {{PARTITION}};

CREATE TABLE ping_results (
    device     text NOT NULL,
    ts         timestamptz NOT NULL,
    address    text NOT NULL,
    sent       integer NOT NULL,
    received   integer NOT NULL,
    loss_pct   double precision NOT NULL,
    rtt_min_ms double precision,
    rtt_avg_ms double precision,
    rtt_max_ms double precision,
    jitter_ms  double precision,
    PRIMARY KEY (device, ts)
) {{PARTITION}};

-- Events: the natural key is (ts, msg_hash), the hash of the record as
-- produced (which includes the receive time to the microsecond).
CREATE TABLE traps (
    ts            timestamptz NOT NULL,
    msg_hash      bytea NOT NULL,
    source        text NOT NULL,
    device        text,
    version       text NOT NULL,
    security_name text,
    inform        boolean NOT NULL DEFAULT false,
    trap_oid      text NOT NULL,
    trap_name     text NOT NULL DEFAULT '',
    uptime        bigint,
    varbinds      jsonb NOT NULL DEFAULT '[]'::jsonb,
    PRIMARY KEY (ts, msg_hash)
) {{PARTITION}};

CREATE TABLE syslog_messages (
    ts              timestamptz NOT NULL,
    msg_hash        bytea NOT NULL,
    source          text NOT NULL,
    device          text,
    transport       text NOT NULL,
    format          text NOT NULL,
    facility        smallint,
    severity        smallint,
    msg_ts          timestamptz,
    hostname        text,
    app             text,
    procid          text,
    msgid           text,
    structured_data jsonb NOT NULL DEFAULT '{}'::jsonb,
    message         text NOT NULL DEFAULT '',
    raw             text NOT NULL DEFAULT '',
    PRIMARY KEY (ts, msg_hash)
) {{PARTITION}};

CREATE TABLE anomaly_scores (
    series_id     integer NOT NULL,
    ts            timestamptz NOT NULL,
    value         double precision NOT NULL,
    score         double precision NOT NULL,
    likelihood    double precision NOT NULL,
    is_anomaly    boolean NOT NULL DEFAULT false,
    expected_low  double precision,
    expected_high double precision,
    model         text NOT NULL,
    model_version integer NOT NULL DEFAULT 0,
    PRIMARY KEY (series_id, ts)
) {{PARTITION}};

CREATE TABLE forecasts (
    series_id     integer NOT NULL,
    ts            timestamptz NOT NULL,  -- when the forecast was made
    horizon_s     double precision NOT NULL,
    slope_per_s   double precision NOT NULL,
    intercept     double precision NOT NULL,  -- value at ts
    threshold     double precision,
    crossing_at   timestamptz,  -- when the trend crosses the threshold, if it does
    PRIMARY KEY (series_id, ts)
) {{PARTITION}};
