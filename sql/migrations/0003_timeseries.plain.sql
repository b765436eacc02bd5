-- Plain PostgreSQL path (no TimescaleDB): daily range partitions, a default
-- partition so a sample with an unexpected time is kept rather than refused,
-- BRIN indexes on time (tiny, and time-ordered inserts keep them sharp), and a
-- retention job that drops whole partitions (cheap) instead of DELETE.

CREATE TABLE nv_partitioned (
    table_name     text PRIMARY KEY,
    retention_days integer NOT NULL
);
INSERT INTO nv_partitioned (table_name, retention_days) VALUES
    ('metric_samples', {{RAW_RETENTION}}),
    ('rollup_1m', {{ROLLUP_1M_RETENTION}}),
    ('rollup_1h', {{ROLLUP_1H_RETENTION}}),
    ('ping_results', {{RAW_RETENTION}}),
    ('traps', {{EVENT_RETENTION}}),
    ('syslog_messages', {{EVENT_RETENTION}}),
    ('anomaly_scores', {{ROLLUP_1M_RETENTION}}),
    ('forecasts', {{ROLLUP_1M_RETENTION}});

CREATE TABLE metric_samples_default PARTITION OF metric_samples DEFAULT;
CREATE TABLE rollup_1m_default PARTITION OF rollup_1m DEFAULT;
CREATE TABLE rollup_1h_default PARTITION OF rollup_1h DEFAULT;
CREATE TABLE ping_results_default PARTITION OF ping_results DEFAULT;
CREATE TABLE traps_default PARTITION OF traps DEFAULT;
CREATE TABLE syslog_messages_default PARTITION OF syslog_messages DEFAULT;
CREATE TABLE anomaly_scores_default PARTITION OF anomaly_scores DEFAULT;
CREATE TABLE forecasts_default PARTITION OF forecasts DEFAULT;

CREATE INDEX metric_samples_ts_brin ON metric_samples USING brin (ts);
CREATE INDEX rollup_1m_ts_brin ON rollup_1m USING brin (ts);
CREATE INDEX rollup_1h_ts_brin ON rollup_1h USING brin (ts);
CREATE INDEX ping_results_ts_brin ON ping_results USING brin (ts);
CREATE INDEX traps_ts_brin ON traps USING brin (ts);
CREATE INDEX traps_device_idx ON traps (device, ts);
CREATE INDEX syslog_ts_brin ON syslog_messages USING brin (ts);
CREATE INDEX syslog_device_idx ON syslog_messages (device, ts);
CREATE INDEX anomaly_scores_ts_brin ON anomaly_scores USING brin (ts);
CREATE INDEX forecasts_ts_brin ON forecasts USING brin (ts);

-- Create the daily partitions from `days_back` days ago to `days_ahead` days ahead.
-- Rows already sitting in the default partition for a new day are moved in.
CREATE FUNCTION nv_ensure_partitions(days_back integer DEFAULT 1, days_ahead integer DEFAULT 3)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    t record;
    d date;
    part text;
    created integer := 0;
BEGIN
    FOR t IN SELECT table_name FROM nv_partitioned LOOP
        FOR d IN SELECT generate_series(current_date - days_back, current_date + days_ahead, '1 day')::date LOOP
            part := format('%s_%s', t.table_name, to_char(d, 'YYYYMMDD'));
            IF to_regclass(part) IS NULL THEN
                EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', part, t.table_name);
                EXECUTE format(
                    'WITH moved AS (DELETE FROM %I WHERE ts >= %L AND ts < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
                    t.table_name || '_default', d, d + 1, part);
                EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                               t.table_name, part, d, d + 1);
                created := created + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN created;
END $$;

-- Retention: drop whole daily partitions older than each table's retention,
-- and delete expired rows that landed in the default partition.
CREATE FUNCTION nv_apply_retention() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    t record;
    p record;
    dropped integer := 0;
    cutoff date;
BEGIN
    FOR t IN SELECT table_name, retention_days FROM nv_partitioned LOOP
        cutoff := current_date - t.retention_days;
        FOR p IN
            SELECT c.relname
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class parent ON parent.oid = i.inhparent
            WHERE parent.relname = t.table_name
              AND c.relname ~ '_[0-9]{8}$'
              AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff
        LOOP
            EXECUTE format('DROP TABLE %I', p.relname);
            dropped := dropped + 1;
        END LOOP;
        EXECUTE format('DELETE FROM %I WHERE ts < %L', t.table_name || '_default', cutoff);
    END LOOP;
    RETURN dropped;
END $$;

SELECT nv_ensure_partitions();
