-- customer-cdc schema, part 5: the Kafka sink's durable position beside the
-- Postgres sinks' checkpoint.

SET client_min_messages = warning;

-- The end LSN up to which the Kafka sink had a successful delivery report of
-- every message (of every transaction ending there or before) when the
-- Postgres sinks last committed; written in the same transaction as `lsn`.
-- After a PostgreSQL crash the slot may step back to the position of the
-- server's last checkpoint; the Kafka sink then skips what this covers, so
-- only the changes committed since it was last written are published again.
-- NULL: no record (Kafka disabled, or a daemon older than this column):
-- Kafka takes every transaction the slot sends.
ALTER TABLE customer_cdc.checkpoint ADD COLUMN IF NOT EXISTS kafka_lsn pg_lsn;
