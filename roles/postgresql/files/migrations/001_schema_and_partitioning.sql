-- 001: privileges of the engine's group roles and the monthly partitioning functions.
-- Runs as mev_owner (the runner sets the role); the runner already created schema mev
-- and mev.schema_migrations.

GRANT USAGE ON SCHEMA mev TO mev_writer, mev_reader;
GRANT SELECT ON mev.schema_migrations TO mev_reader;

-- Every table, partition and sequence mev_owner creates in mev from now on.
ALTER DEFAULT PRIVILEGES FOR ROLE mev_owner IN SCHEMA mev
    GRANT SELECT, INSERT, UPDATE ON TABLES TO mev_writer;
ALTER DEFAULT PRIVILEGES FOR ROLE mev_owner IN SCHEMA mev
    GRANT SELECT ON TABLES TO mev_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE mev_owner IN SCHEMA mev
    GRANT USAGE, SELECT ON SEQUENCES TO mev_writer;
ALTER DEFAULT PRIVILEGES FOR ROLE mev_owner IN SCHEMA mev
    REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- updated_at maintenance for the tables that have one.
CREATE FUNCTION mev.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- Monthly partitions named <table>_yYYYYmMM, bounded on UTC month starts, for every month
-- from p_from to p_to (inclusive). Returns how many it created. SECURITY DEFINER so that
-- partitions belong to mev_owner whoever calls it (the maintenance job runs as postgres).
CREATE FUNCTION mev.create_monthly_partitions(p_table text, p_from date, p_to date)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    month date := date_trunc('month', p_from)::date;
    part text;
    created integer := 0;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_partitioned_table pt
        JOIN pg_class c ON c.oid = pt.partrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'mev' AND c.relname = p_table
    ) THEN
        RAISE EXCEPTION 'mev.%: not a partitioned table in schema mev', p_table;
    END IF;
    WHILE month <= p_to LOOP
        part := format('%s_y%sm%s', p_table, to_char(month, 'YYYY'), to_char(month, 'MM'));
        IF to_regclass(format('mev.%I', part)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE mev.%I PARTITION OF mev.%I FOR VALUES FROM (%L) TO (%L) '
                'WITH (autovacuum_vacuum_scale_factor = 0.1, autovacuum_analyze_scale_factor = 0.05)',
                part, p_table, month::text || ' 00:00:00+00',
                (month + interval '1 month')::date::text || ' 00:00:00+00');
            created := created + 1;
        END IF;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN created;
END
$$;

-- Partitions for every partitioned table in mev: the previous month through p_ahead
-- months after the current one (UTC). Returns how many it created.
CREATE FUNCTION mev.ensure_partitions(p_ahead integer DEFAULT 3)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    tbl text;
    created integer := 0;
BEGIN
    FOR tbl IN
        SELECT c.relname FROM pg_partitioned_table pt
        JOIN pg_class c ON c.oid = pt.partrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'mev' ORDER BY c.relname
    LOOP
        created := created + mev.create_monthly_partitions(
            tbl, (this_month - interval '1 month')::date, (this_month + make_interval(months => p_ahead))::date);
    END LOOP;
    RETURN created;
END
$$;

-- Drops the monthly partitions of p_table that end on or before p_before; returns their names.
CREATE FUNCTION mev.drop_partitions_before(p_table text, p_before timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    part record;
BEGIN
    FOR part IN
        SELECT c.relname,
               (substring(c.relname FROM '_y([0-9]{4})m[0-9]{2}$') || '-'
                || substring(c.relname FROM '_y[0-9]{4}m([0-9]{2})$') || '-01 00:00:00+00')::timestamptz
               + interval '1 month' AS upper_bound
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = format('mev.%I', p_table)::regclass
          AND c.relname ~ '_y[0-9]{4}m[0-9]{2}$'
        ORDER BY c.relname
    LOOP
        IF part.upper_bound <= p_before THEN
            EXECUTE format('DROP TABLE mev.%I', part.relname);
            RETURN NEXT part.relname;
        END IF;
    END LOOP;
END
$$;
