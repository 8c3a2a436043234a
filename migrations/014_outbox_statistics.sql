-- The drain finds pending entries through partial indexes, and PostgreSQL sizes every such lookup from the table's
-- statistics. Autovacuum usually takes them when the outbox is drained: they then say "nothing pending", and a burst
-- that follows is planned as if the pending set were empty. Each claim then reads every pending entry once per head
-- it returns (90 ms per claim over a 5,000-entry backlog beside 100,000 finished entries, BENCHMARKS.md S8), and
-- autoanalyze waits until 10 % of the whole table (its finished history included) has changed. The drain calls
-- this when a claim finds more due than it takes: it analyses outbox_entries when the planner's own estimate of
-- pending rows is far below the pending rows that are there (at least 200, and more than 4x the estimate: a
-- growing burst is analysed a few times at most, and a drained outbox never).
-- Counting stops at 10,000, so the check costs a bounded index-only scan. One caller at a time analyses (an
-- advisory lock; the others return at once). Security definer: only the table's owner may ANALYZE it
-- (PostgreSQL 15), and the worker's role is not the owner; the function does nothing else, and its search_path is
-- pinned.
create function outbox_refresh_statistics(out pending bigint, out estimated bigint, out analysed boolean)
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    plan json;
begin
    select count(*) into pending from (select 1 from outbox_entries where state = 'pending' limit 10000) p;
    execute 'explain (format json) select 1 from outbox_entries where state = ''pending''' into plan;
    estimated := ((plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric)::bigint;
    analysed := pending >= 200 and pending > 4 * estimated
                and pg_try_advisory_xact_lock(hashtext('outbox_refresh_statistics'));
    if analysed then
        analyze outbox_entries;
    end if;
end $$;

revoke all on function outbox_refresh_statistics() from public;
grant execute on function outbox_refresh_statistics() to outboxsync_worker;
