-- Every confirmation wakes the entries blocked on its resource (blocked_by = the resource id). Without an index
-- that statement scanned every pending entry: 21 ms per confirmation with 10k pending entries, the largest share
-- of database time in BENCHMARKS.md S2. Blocked entries are few, so this partial index stays small.
create index outbox_blocked_by on outbox_entries (blocked_by) where state = 'pending' and blocked_by is not null;
