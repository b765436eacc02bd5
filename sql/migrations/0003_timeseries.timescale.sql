-- TimescaleDB path (production image timescale/timescaledb): hypertables with
-- daily chunks, native compression after a day, and retention policies.
-- Functions with the same names as the plain path's keep callers path-agnostic.

CREATE EXTENSION IF NOT EXISTS timescaledb;

SELECT create_hypertable('metric_samples', 'ts', chunk_time_interval => interval '1 day');
SELECT create_hypertable('rollup_1m', 'ts', chunk_time_interval => interval '1 day');
SELECT create_hypertable('rollup_1h', 'ts', chunk_time_interval => interval '7 days');
SELECT create_hypertable('ping_results', 'ts', chunk_time_interval => interval '1 day');
SELECT create_hypertable('traps', 'ts', chunk_time_interval => interval '1 day');
SELECT create_hypertable('syslog_messages', 'ts', chunk_time_interval => interval '1 day');
SELECT create_hypertable('anomaly_scores', 'ts', chunk_time_interval => interval '1 day');
SELECT create_hypertable('forecasts', 'ts', chunk_time_interval => interval '7 days');

CREATE INDEX traps_device_idx ON traps (device, ts);
CREATE INDEX syslog_device_idx ON syslog_messages (device, ts);

ALTER TABLE metric_samples SET (timescaledb.compress, timescaledb.compress_segmentby = 'series_id');
ALTER TABLE rollup_1m SET (timescaledb.compress, timescaledb.compress_segmentby = 'series_id');
ALTER TABLE ping_results SET (timescaledb.compress, timescaledb.compress_segmentby = 'device');
ALTER TABLE anomaly_scores SET (timescaledb.compress, timescaledb.compress_segmentby = 'series_id');
SELECT add_compression_policy('metric_samples', interval '1 day');
SELECT add_compression_policy('rollup_1m', interval '2 days');
SELECT add_compression_policy('ping_results', interval '1 day');
SELECT add_compression_policy('anomaly_scores', interval '2 days');

SELECT add_retention_policy('metric_samples', interval '{{RAW_RETENTION}} days');
SELECT add_retention_policy('rollup_1m', interval '{{ROLLUP_1M_RETENTION}} days');
SELECT add_retention_policy('rollup_1h', interval '{{ROLLUP_1H_RETENTION}} days');
SELECT add_retention_policy('ping_results', interval '{{RAW_RETENTION}} days');
SELECT add_retention_policy('traps', interval '{{EVENT_RETENTION}} days');
SELECT add_retention_policy('syslog_messages', interval '{{EVENT_RETENTION}} days');
SELECT add_retention_policy('anomaly_scores', interval '{{ROLLUP_1M_RETENTION}} days');
SELECT add_retention_policy('forecasts', interval '{{ROLLUP_1M_RETENTION}} days');

-- TimescaleDB manages chunks and retention itself; these keep the callers simple.
CREATE FUNCTION nv_ensure_partitions(days_back integer DEFAULT 1, days_ahead integer DEFAULT 3)
RETURNS integer LANGUAGE sql AS $$ SELECT 0 $$;
CREATE FUNCTION nv_apply_retention() RETURNS integer LANGUAGE sql AS $$ SELECT 0 $$;
