-- "Was anything of this resource ever sent?" is asked before cancelling a never-sent create; without this index
-- it scanned the resource's whole history (1.9 s per call at 1M finished entries in BENCHMARKS.md S8).
create index outbox_resource_dispatched on outbox_entries (resource_id) where dispatched_at is not null;
