-- Stream worker state that must survive a restart or a partition moving to
-- another worker: the previous raw counters of each device (streams.rates
-- DeviceState, msgpack). It is written in the same transaction as the
-- samples computed from it, so "rows written" and "state advanced" can never
-- disagree: a poll redelivered after a crash is recognised (ts <= state ts)
-- and skipped, which is what makes reprocessing write nothing twice.
CREATE TABLE stream_rate_state (
    device     text PRIMARY KEY,
    ts         double precision NOT NULL,
    state      bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Rollup bookkeeping: the end of the last 1-minute / 1-hour bucket rolled up.
CREATE TABLE rollup_watermarks (
    name text PRIMARY KEY,
    done timestamptz NOT NULL
);
