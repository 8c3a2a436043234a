-- The claim walks pending entries oldest first (order by seq, limit N). Without an index on seq restricted to
-- pending rows, the planner either walks the primary key through every retained finished entry or reads every due
-- entry and sorts them: 224 ms per claim with 1M finished and 10k pending entries, against ~10 ms with this index
-- (BENCHMARKS.md, S8). resource_id and next_attempt_at are included so the walk needs no heap access.
create index outbox_pending_seq on outbox_entries (seq) include (resource_id, next_attempt_at) where state = 'pending';
