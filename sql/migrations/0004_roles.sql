-- The app reads through a read-only role that cannot see device secrets.
-- Its password is set by `netvigil db migrate` from postgres.readonly_dsn.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{{RO_ROLE}}') THEN
        EXECUTE format('CREATE ROLE %I LOGIN', '{{RO_ROLE}}');
    END IF;
END $$;

GRANT USAGE ON SCHEMA public TO "{{RO_ROLE}}";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{RO_ROLE}}";
REVOKE ALL ON device_credentials FROM "{{RO_ROLE}}";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO "{{RO_ROLE}}";
