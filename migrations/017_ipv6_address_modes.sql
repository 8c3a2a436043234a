-- IPv6 address modes (Neutron's ipv6_ra_mode and ipv6_address_mode): how hosts on an IPv6 subnet get addresses.
-- With address mode slaac or dhcpv6-stateless the subnet is "auto-address": every port on its network (router
-- interfaces aside) holds the EUI-64 address derived from its MAC, allocated like any other fixed IP.
alter table subnets
    add column ipv6_ra_mode      text check (ipv6_ra_mode in ('slaac', 'dhcpv6-stateful', 'dhcpv6-stateless')),
    add column ipv6_address_mode text check (ipv6_address_mode in ('slaac', 'dhcpv6-stateful', 'dhcpv6-stateless'));
