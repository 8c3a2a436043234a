-- Everything an operator does through the operator API: who, when, what.
create table operator_audit (
    id      bigint generated always as identity primary key,
    at      timestamptz not null default now(),
    actor   text        not null,
    action  text        not null,
    target  text        not null,
    details jsonb       not null default '{}'
);
create index operator_audit_at on operator_audit (at desc);

-- Reconciliation runs: requested by operators (or the schedule), executed by one worker replica.
create table reconciliation_runs (
    id           bigint generated always as identity primary key,
    requested_by text        not null,
    requested_at timestamptz not null default now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    state        text        not null default 'requested' check (state in ('requested', 'running', 'finished', 'failed')),
    findings     jsonb       not null default '[]',
    summary      jsonb       not null default '{}',
    error        text
);
create index reconciliation_runs_state on reconciliation_runs (state, requested_at);
