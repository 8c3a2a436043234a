-- Failed entries are counted for the outbox-depth gauge and listed by operators; keep that off a table scan.
create index outbox_failed on outbox_entries (seq) where state = 'failed';
