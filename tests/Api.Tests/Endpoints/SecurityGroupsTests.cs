using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

/// <summary>Neutron's <c>security-group</c> extension: groups, rules, the default group and ports' groups.</summary>
public sealed class SecurityGroupsTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static JsonObject Group(JsonObject attributes) => new() { ["security_group"] = attributes };

    private static JsonObject Rule(JsonObject attributes) => new() { ["security_group_rule"] = attributes };

    private async Task<JsonObject> CreateGroupAsync(ApiClient client, string? name = null) =>
        (await client.PostAsync("/v2.0/security-groups", Group(new JsonObject { ["name"] = name ?? Unique("sg") })))
        .Expect(HttpStatusCode.Created).Item("security_group");

    private static async Task<JsonObject> CreateRuleAsync(ApiClient client, JsonObject attributes) =>
        (await client.PostAsync("/v2.0/security-group-rules", Rule(attributes))).Expect(HttpStatusCode.Created).Item("security_group_rule");

    private static JsonArray Rules(JsonObject group) => Assert.IsType<JsonArray>(group["security_group_rules"]);

    private async Task<string> DefaultGroupIdAsync(ApiClient client)
    {
        var groups = (await client.GetAsync("/v2.0/security-groups?name=default")).Expect(HttpStatusCode.OK).Items("security_groups");
        return Id(Assert.Single(groups)!);
    }

    [Fact]
    public async Task A_project_gets_its_default_group_with_neutrons_four_rules_on_first_use_and_only_one()
    {
        var client = api.Extra(1);
        var lists = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => client.GetAsync("/v2.0/security-groups")));

        Assert.All(lists, l => l.Expect(HttpStatusCode.OK));
        var group = Assert.Single(lists[0].Items("security_groups"))!.AsObject();
        Assert.Equal("default", Str(group, "name"));
        var rules = Rules(group).Select(r => r!.AsObject()).ToList();
        Assert.Equal(4, rules.Count);
        Assert.Equal(["egress/IPv4/", "egress/IPv6/", $"ingress/IPv4/{Id(group)}", $"ingress/IPv6/{Id(group)}"],
            rules.Select(r => $"{Str(r, "direction")}/{Str(r, "ethertype")}/{r["remote_group_id"]?.GetValue<string>()}").Order(StringComparer.Ordinal));
        Assert.All(rules, r => Assert.Null(r["protocol"]));
        // Drained like any resource: the group's create, and each rule's create depending on it.
        var entries = await api.Db.OutboxForAsync(Id(group));
        Assert.Equal("create", Assert.Single(entries).Operation);
        foreach (var rule in rules)
        {
            var entry = Assert.Single(await api.Db.OutboxForAsync(Id(rule)));
            Assert.Equal("security_group_rule", entry.ResourceType);
            Assert.Contains(Guid.Parse(Id(group)), entry.DependsOn);
        }
        // Every concurrent first use found the same group.
        Assert.All(lists, l => Assert.Equal(Id(group), Id(Assert.Single(l.Items("security_groups"))!)));
    }

    [Fact]
    public async Task A_new_group_starts_with_egress_rules_and_the_name_default_is_refused()
    {
        var group = await CreateGroupAsync(api.P1);

        Assert.Equal(["egress/IPv4", "egress/IPv6"], Rules(group).Select(r => $"{Str(r!, "direction")}/{Str(r!, "ethertype")}").Order(StringComparer.Ordinal));
        Assert.True(group["stateful"]!.GetValue<bool>());
        Assert.Equal("PENDING_CREATE", Str(group, "status"));
        (await api.P1.PostAsync("/v2.0/security-groups", Group(new JsonObject { ["name"] = "default" })))
            .ExpectNeutronError(HttpStatusCode.Conflict, "SecurityGroupDefaultAlreadyExists");
        (await api.P1.PostAsync("/v2.0/security-groups", Group(new JsonObject { ["bogus"] = 1 })))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        var shown = await api.P1.ShowAsync("security-groups", Id(group), "security_group");
        Assert.Equal(2, Rules(shown).Count);
        (await api.P2.GetAsync($"/v2.0/security-groups/{Id(group)}")).ExpectNeutronError(HttpStatusCode.NotFound, "SecurityGroupNotFound");
    }

    [Fact]
    public async Task Rules_are_validated_as_neutron_does()
    {
        var group = Id(await CreateGroupAsync(api.P1));
        JsonObject R(params (string Key, JsonNode? Value)[] fields)
        {
            var o = new JsonObject { ["security_group_id"] = group, ["direction"] = "ingress" };
            foreach (var (k, v) in fields)
            {
                o[k] = v;
            }
            return o;
        }
        async Task Refused(JsonObject body, string? type = null) =>
            (await api.P1.PostAsync("/v2.0/security-group-rules", Rule(body))).ExpectNeutronError(HttpStatusCode.BadRequest, type);

        await Refused(R(("direction", "sideways")));
        await Refused(R(("ethertype", "IPv5")));
        await Refused(R(("protocol", "carrier-pigeon")));
        await Refused(R(("protocol", 256)));
        await Refused(R(("port_range_min", 80), ("port_range_max", 80)));                       // ports without a protocol
        await Refused(R(("protocol", "tcp"), ("port_range_min", 90), ("port_range_max", 80)));  // min > max
        await Refused(R(("protocol", "udp"), ("port_range_min", 0), ("port_range_max", 10)));   // port 0
        await Refused(R(("protocol", "tcp"), ("port_range_min", 1), ("port_range_max", 65536)));
        await Refused(R(("protocol", "gre"), ("port_range_min", 1), ("port_range_max", 2)));    // no ports for gre
        await Refused(R(("protocol", "icmp"), ("port_range_min", 256)));                         // ICMP type 0-255
        await Refused(R(("protocol", "icmp"), ("port_range_max", 0)));                           // code without a type
        await Refused(R(("remote_ip_prefix", "10.0.0.0/33")));
        await Refused(R(("remote_ip_prefix", "::/0")));                                          // IPv6 prefix on an IPv4 rule
        await Refused(R(("protocol", "ipv6-icmp")));                                             // IPv4 rule
        await Refused(R(("remote_ip_prefix", "10.0.0.0/8"), ("remote_group_id", group)));
        await Refused(R(("security_group_id", "not-a-uuid")));
        (await api.P1.PostAsync("/v2.0/security-group-rules", Rule(new JsonObject { ["security_group_id"] = group })))
            .ExpectNeutronError(HttpStatusCode.BadRequest);                                      // direction is required
        (await api.P1.PostAsync("/v2.0/security-group-rules", Rule(R(("security_group_id", Guid.NewGuid().ToString())))))
            .ExpectNeutronError(HttpStatusCode.NotFound, "SecurityGroupNotFound");

        var web = await CreateRuleAsync(api.P1, R(("protocol", "TCP"), ("port_range_min", "80"), ("port_range_max", 443), ("remote_ip_prefix", "10.1.0.0/16")));
        Assert.Equal("tcp", Str(web, "protocol"));
        Assert.Equal(80, web["port_range_min"]!.GetValue<int>());
        Assert.Equal("10.1.0.0/16", Str(web, "remote_ip_prefix"));
        var numbered = await CreateRuleAsync(api.P1, R(("protocol", "47"), ("ethertype", "ipv6"), ("remote_ip_prefix", "2001:db8::1")));
        Assert.Equal("47", Str(numbered, "protocol"));
        Assert.Equal("IPv6", Str(numbered, "ethertype"));
        Assert.Equal("2001:db8::1/128", Str(numbered, "remote_ip_prefix"));
        var ping = await CreateRuleAsync(api.P1, R(("protocol", "icmp"), ("port_range_min", 8), ("port_range_max", 0)));
        Assert.Equal(0, ping["port_range_max"]!.GetValue<int>());
        Assert.Null((await CreateRuleAsync(api.P1, R(("protocol", "any"), ("direction", "egress"), ("remote_group_id", group))))["protocol"]);
    }

    [Fact]
    public async Task The_same_rule_twice_is_a_conflict_until_the_first_is_deleted()
    {
        var group = Id(await CreateGroupAsync(api.P1));
        var body = new JsonObject { ["security_group_id"] = group, ["direction"] = "ingress", ["protocol"] = "tcp", ["port_range_min"] = 22, ["port_range_max"] = 22 };
        var first = await CreateRuleAsync(api.P1, body.DeepClone().AsObject());

        var conflict = (await api.P1.PostAsync("/v2.0/security-group-rules", Rule(body.DeepClone().AsObject())))
            .ExpectNeutronError(HttpStatusCode.Conflict, "SecurityGroupRuleExists");
        Assert.Contains(Id(first), conflict["message"]!.GetValue<string>(), StringComparison.Ordinal);
        (await api.P1.PostAsync("/v2.0/security-group-rules", new JsonObject
        {
            ["security_group_rules"] = new JsonArray(body.DeepClone(), body.DeepClone()),
        })).ExpectNeutronError(HttpStatusCode.BadRequest);

        (await api.P1.DeleteAsync($"/v2.0/security-group-rules/{Id(first)}")).Expect(HttpStatusCode.NoContent);
        var again = await CreateRuleAsync(api.P1, body.DeepClone().AsObject());
        Assert.NotEqual(Id(first), Id(again));
        var delete = (await api.Db.OutboxForAsync(Id(first))).Single(e => e.Operation == "delete");
        Assert.Contains(Guid.Parse(group), delete.DependsOn);
        // The group's view lists live rules only.
        var shown = await api.P1.ShowAsync("security-groups", group, "security_group");
        Assert.DoesNotContain(Id(first), Rules(shown).Select(r => Id(r!)));
        Assert.Contains(Id(again), Rules(shown).Select(r => Id(r!)));
    }

    [Fact]
    public async Task A_port_gets_its_projects_default_group_unless_it_names_groups_or_an_empty_list()
    {
        var client = api.Extra(2);
        var (n, _) = await client.CreateNetworkWithSubnetAsync("10.71.0.0/24");
        var mine = Id(await CreateGroupAsync(client));

        var plain = await client.CreatePortAsync(Id(n));
        var named = await client.CreatePortAsync(Id(n), new JsonObject { ["security_groups"] = new JsonArray(mine, mine) });
        var none = await client.CreatePortAsync(Id(n), new JsonObject { ["security_groups"] = new JsonArray() });

        var defaultGroup = await DefaultGroupIdAsync(client);
        Assert.Equal([defaultGroup], Strings(plain["security_groups"]));
        Assert.Equal([mine], Strings(named["security_groups"]));
        Assert.Empty(Strings(none["security_groups"]));
        // The back end gets the groups, and the port's create waits for them there.
        var entry = Assert.Single(await api.Db.OutboxForAsync(Id(named)));
        Assert.Equal([mine], Strings(entry.Payload["security_groups"]));
        Assert.Contains(Guid.Parse(mine), entry.DependsOn);
        // port-security-groups-filtering: the ports using a group.
        var using_ = (await client.GetAsync($"/v2.0/ports?security_groups={mine}")).Expect(HttpStatusCode.OK).Items("ports");
        Assert.Equal([Id(named)], Ids(using_));
        var either = (await client.GetAsync($"/v2.0/ports?security_groups={mine}&security_groups={defaultGroup}")).Expect(HttpStatusCode.OK).Items("ports");
        Assert.Equal(new[] { Id(named), Id(plain) }.Order(), Ids(either).Order());
        (await client.GetAsync("/v2.0/ports?security_groups=nope")).ExpectNeutronError(HttpStatusCode.BadRequest);
        (await client.GetAsync("/v2.0/ports?sort_key=security_groups")).ExpectNeutronError(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_port_may_not_use_another_projects_group_or_one_being_deleted()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.72.0.0/24");
        var theirs = Id(await CreateGroupAsync(api.P2));
        var going = Id(await CreateGroupAsync(api.P1));
        (await api.P1.DeleteAsync($"/v2.0/security-groups/{going}")).Expect(HttpStatusCode.NoContent);

        foreach (var group in new[] { theirs, going, Guid.NewGuid().ToString() })
        {
            var error = (await api.P1.PostAsync("/v2.0/ports", new JsonObject
            {
                ["port"] = new JsonObject { ["network_id"] = Id(n), ["security_groups"] = new JsonArray(group) },
            })).ExpectNeutronError(HttpStatusCode.NotFound, "SecurityGroupNotFound");
            Assert.Contains(group, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        (await api.P1.PostAsync("/v2.0/ports", new JsonObject
        {
            ["port"] = new JsonObject { ["network_id"] = Id(n), ["security_groups"] = new JsonArray("nope") },
        })).ExpectNeutronError(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_group_in_use_cannot_be_deleted_until_no_port_names_it_and_then_its_rules_go_first()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.73.0.0/24");
        var group = await CreateGroupAsync(api.P1);
        var other = await CreateGroupAsync(api.P1);
        var pointing = await CreateRuleAsync(api.P1, new JsonObject { ["security_group_id"] = Id(other), ["direction"] = "ingress", ["remote_group_id"] = Id(group) });
        var port = await api.P1.CreatePortAsync(Id(n), new JsonObject { ["security_groups"] = new JsonArray(Id(group)) });

        (await api.P1.DeleteAsync($"/v2.0/security-groups/{Id(group)}")).ExpectNeutronError(HttpStatusCode.Conflict, "SecurityGroupInUse");
        var moved = (await api.P1.PutAsync($"/v2.0/ports/{Id(port)}", new JsonObject
        {
            ["port"] = new JsonObject { ["security_groups"] = new JsonArray(Id(other)) },
        })).Expect(HttpStatusCode.OK).Item("port");
        Assert.Equal([Id(other)], Strings(moved["security_groups"]));
        // The back end holds the port with the old group until the update is applied: the group's delete waits for it.
        var update = (await api.Db.OutboxForAsync(Id(port))).Single(e => e.Operation == "update");
        Assert.Contains(Guid.Parse(Id(group)), update.DependsOn);

        var before = await api.Db.MaxSeqAsync();
        (await api.P1.DeleteAsync($"/v2.0/security-groups/{Id(group)}")).Expect(HttpStatusCode.NoContent);
        var entries = await api.Db.OutboxAfterAsync(before);
        var groupDelete = entries.Single(e => e.ResourceId == Guid.Parse(Id(group)));
        var ruleDeletes = entries.Where(e => e.ResourceType == "security_group_rule").ToList();
        // Its own two egress rules and the other group's rule that named it as remote.
        Assert.Equal(3, ruleDeletes.Count);
        Assert.Contains(ruleDeletes, e => e.ResourceId == Guid.Parse(Id(pointing)));
        Assert.All(ruleDeletes, e => Assert.True(e.Seq < groupDelete.Seq));
        Assert.Equal("PENDING_DELETE", Str(await api.P1.ShowAsync("security-groups", Id(group), "security_group"), "status"));
        (await api.P1.PostAsync("/v2.0/ports", new JsonObject
        {
            ["port"] = new JsonObject { ["network_id"] = Id(n), ["security_groups"] = new JsonArray(Id(group)) },
        })).ExpectNeutronError(HttpStatusCode.NotFound, "SecurityGroupNotFound");
    }

    [Fact]
    public async Task The_default_group_keeps_its_name_and_only_an_admin_may_delete_it_after_which_a_new_one_is_made()
    {
        var client = api.Extra(3);
        var defaultGroup = await DefaultGroupIdAsync(client);

        (await client.PutAsync($"/v2.0/security-groups/{defaultGroup}", Group(new JsonObject { ["name"] = "renamed" })))
            .ExpectNeutronError(HttpStatusCode.Conflict, "SecurityGroupCannotUpdateDefault");
        var described = (await client.PutAsync($"/v2.0/security-groups/{defaultGroup}", Group(new JsonObject { ["description"] = "ours" })))
            .Expect(HttpStatusCode.OK).Item("security_group");
        Assert.Equal("ours", Str(described, "description"));
        (await client.DeleteAsync($"/v2.0/security-groups/{defaultGroup}")).ExpectNeutronError(HttpStatusCode.Conflict, "SecurityGroupCannotRemoveDefault");

        (await api.Admin.DeleteAsync($"/v2.0/security-groups/{defaultGroup}")).Expect(HttpStatusCode.NoContent);
        var (n, _) = await client.CreateNetworkWithSubnetAsync("10.74.0.0/24");
        var port = await client.CreatePortAsync(Id(n));
        var replacement = Assert.Single(Strings(port["security_groups"]));
        Assert.NotEqual(defaultGroup, replacement);
        // The old one is listed, being deleted, until the back end confirms; the new one is the project's default.
        var defaults = (await client.GetAsync("/v2.0/security-groups?name=default")).Expect(HttpStatusCode.OK).Items("security_groups");
        Assert.Equal(replacement, Id(defaults.Single(g => Str(g!, "status") != "PENDING_DELETE")!));
        Assert.Equal("PENDING_DELETE", Str(defaults.Single(g => Id(g!) == defaultGroup)!, "status"));
    }

    [Fact]
    public async Task Stateful_changes_only_while_no_port_uses_the_group()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync("10.75.0.0/24");
        var group = Id(await CreateGroupAsync(api.P1));

        var stateless = (await api.P1.PutAsync($"/v2.0/security-groups/{group}", Group(new JsonObject { ["stateful"] = false })))
            .Expect(HttpStatusCode.OK).Item("security_group");
        Assert.False(stateless["stateful"]!.GetValue<bool>());
        Assert.Equal(2, Revision(stateless));
        await api.P1.CreatePortAsync(Id(n), new JsonObject { ["security_groups"] = new JsonArray(group) });
        (await api.P1.PutAsync($"/v2.0/security-groups/{group}", Group(new JsonObject { ["stateful"] = true })))
            .ExpectNeutronError(HttpStatusCode.Conflict, "SecurityGroupInUse");
    }

    [Fact]
    public async Task Rules_are_listed_filtered_and_scoped_to_their_project()
    {
        var group = Id(await CreateGroupAsync(api.P1));
        await CreateRuleAsync(api.P1, new JsonObject { ["security_group_id"] = group, ["direction"] = "ingress", ["protocol"] = "udp", ["port_range_min"] = 53, ["port_range_max"] = 53 });

        var listed = (await api.P1.GetAsync($"/v2.0/security-group-rules?security_group_id={group}&direction=ingress")).Expect(HttpStatusCode.OK)
            .Items("security_group_rules");
        Assert.Equal("udp", Str(Assert.Single(listed)!, "protocol"));
        var theirs = (await api.P2.GetAsync($"/v2.0/security-group-rules?security_group_id={group}")).Expect(HttpStatusCode.OK).Items("security_group_rules");
        Assert.Empty(theirs);
        (await api.P2.PostAsync("/v2.0/security-group-rules", Rule(new JsonObject { ["security_group_id"] = group, ["direction"] = "egress" })))
            .ExpectNeutronError(HttpStatusCode.NotFound, "SecurityGroupNotFound");
        (await api.P1.GetAsync("/v2.0/security-group-rules?colour=red")).ExpectNeutronError(HttpStatusCode.BadRequest);
    }
}
