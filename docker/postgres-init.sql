-- Runs once, when the postgres service initialises its (empty) data
-- directory: /docker-entrypoint-initdb.d, as the superuser, in database app.
--
-- customer_cdc is the role the daemon and `customer-cdc migrate` use:
--   LOGIN REPLICATION: it opens the logical replication connection (wal2json);
--   owner of database app: `migrate` may create the schemas (auth,
--   customer_cdc, analytics) and the tables in public (owned by
--   pg_database_owner on PostgreSQL 15), and owning the tables it has every
--   privilege `customer-cdc check` asks for.
-- In production the application's owner usually runs the migration and
-- customer_cdc only gets the grants `customer-cdc check` lists.
--
-- The password is for this local compose setup only.
CREATE ROLE customer_cdc LOGIN REPLICATION PASSWORD 'customer_cdc';
ALTER DATABASE app OWNER TO customer_cdc;
