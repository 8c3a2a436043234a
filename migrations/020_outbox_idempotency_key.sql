-- The Idempotency-Key each outbox entry is sent with. It was "seq-<seq>", but seq values are handed out again
-- when the database is rewound: a promoted asynchronous standby that missed the last commits, or a restore to a
-- point in time. The back end caches results by (resource, key), so a new change under a reused seq would be
-- answered with the lost change's cached result, or refused (the failover run's key_reuse), and never applied.
-- A random key per row is never reused, whatever happens to the sequence. Rows from before this migration keep
-- null and their old key (BackendRequests), so an entry in flight across the upgrade is not applied twice.
-- Added without a default first, then the default set: no table rewrite, no long lock on a large outbox.
alter table outbox_entries add column idempotency_key uuid;
alter table outbox_entries alter column idempotency_key set default gen_random_uuid();
