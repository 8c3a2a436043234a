-- Set just before an entry's state is first sent to the back end (and never cleared). A create that was never
-- dispatched can be cancelled by a later delete without any call; one that was dispatched may exist at the back
-- end even if no answer came back (the sender may have crashed mid-call), so its delete must still be sent.
alter table outbox_entries add column dispatched_at timestamptz;
