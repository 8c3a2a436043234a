-- Port binding (Neutron's `binding` extension): where a port is plugged. Nova sets the host on every boot and
-- clears it when an instance leaves; the back end needs it to know where to plug, so these columns are part of the
-- port's desired state (the outbox snapshot), and a change of host is an ordinary port update.
-- vif_type and vif_details are not stored: they are derived from the host and the port's status when rendered.
alter table ports
    add column binding_host_id   text  not null default '',
    add column binding_vnic_type text  not null default 'normal',
    add column binding_profile   jsonb not null default '{}';

-- Nova lists the ports bound to a host (`binding:host_id=` filter) when it starts, migrates and evacuates.
create index ports_binding_host on ports (binding_host_id) where binding_host_id <> '';
