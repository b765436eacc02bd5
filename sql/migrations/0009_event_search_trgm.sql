-- Trigram GIN indexes for the console's event text search
-- (app_streamlit/data/events.py): `col ILIKE '%word%'` cannot use a btree, so
-- a rare word over 30 days read every syslog line and trap of the range. A
-- pg_trgm GIN index answers ILIKE with a bitmap scan. The planner only ORs
-- bitmaps when EVERY branch of the OR has an index, so each expression the
-- query searches gets one, written exactly as the query writes it:
--   traps:           trap_name, trap_oid, (varbinds::text)
--   syslog_messages: message, app
-- Created on the parent: on the plain path that is a partitioned index that
-- PostgreSQL builds on every existing daily partition and on each partition
-- nv_ensure_partitions attaches later; on TimescaleDB the hypertable index is
-- created on every chunk.
--
-- pg_trgm is a contrib extension (Debian's postgresql package ships it; it is
-- "trusted", so the database owner may create it). A server without it, or a
-- role not allowed to create it, still migrates: the block raises a NOTICE
-- (the migration runner logs it) and the search simply stays a sequential scan.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        RAISE NOTICE 'pg_trgm is not available on this server: event text search stays unindexed';
        RETURN;
    END IF;
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN insufficient_privilege OR feature_not_supported OR undefined_file THEN
        RAISE NOTICE 'cannot create extension pg_trgm (%): event text search stays unindexed', SQLERRM;
        RETURN;
    END;
    EXECUTE 'CREATE INDEX IF NOT EXISTS traps_trap_name_trgm ON traps USING gin (trap_name gin_trgm_ops)';
    EXECUTE 'CREATE INDEX IF NOT EXISTS traps_trap_oid_trgm ON traps USING gin (trap_oid gin_trgm_ops)';
    EXECUTE 'CREATE INDEX IF NOT EXISTS traps_varbinds_trgm ON traps USING gin ((varbinds::text) gin_trgm_ops)';
    EXECUTE 'CREATE INDEX IF NOT EXISTS syslog_message_trgm ON syslog_messages USING gin (message gin_trgm_ops)';
    EXECUTE 'CREATE INDEX IF NOT EXISTS syslog_app_trgm ON syslog_messages USING gin (app gin_trgm_ops)';
END $$;
