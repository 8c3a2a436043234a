using Microsoft.AspNetCore.Hosting;
using static OutboxSync.Api.Tests.Infrastructure.Neutron;

namespace OutboxSync.Api.Tests.Endpoints;

public sealed class NetworksTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task Creating_a_network_is_201_with_location_and_every_neutron_field_in_PENDING_CREATE()
    {
        var name = Unique("net");
        var response = (await api.P1.PostAsync("/v2.0/networks",
            new JsonObject { ["network"] = new JsonObject { ["name"] = name, ["description"] = "first" } })).Expect(HttpStatusCode.Created);
        var n = response.Item("network");

        Assert.True(Guid.TryParse(Str(n, "id"), out _));
        Assert.NotNull(response.Location);
        Assert.EndsWith($"/v2.0/networks/{Id(n)}", response.Location!.ToString());
        Assert.Equal(name, Str(n, "name"));
        Assert.Equal("first", Str(n, "description"));
        Assert.Equal(ApiFactory.Project1, Str(n, "project_id"));
        Assert.Equal(ApiFactory.Project1, Str(n, "tenant_id"));
        Assert.True(n["admin_state_up"]!.GetValue<bool>());
        Assert.Equal("PENDING_CREATE", Str(n, "status"));
        Assert.Equal(1, Revision(n));
        AssertTimestamp(n, "created_at");
        AssertTimestamp(n, "updated_at");
        Assert.Empty(Assert.IsType<JsonArray>(n["tags"]));
        Assert.Equal(1500, n["mtu"]!.GetValue<int>());
        Assert.False(n["shared"]!.GetValue<bool>());
        Assert.False(n["router:external"]!.GetValue<bool>());
        Assert.Empty(Assert.IsType<JsonArray>(n["subnets"]));
    }

    [Fact]
    public async Task Creating_a_network_appends_exactly_one_create_entry_with_its_snapshot()
    {
        var n = await api.P1.CreateNetworkAsync(extra: new JsonObject { ["mtu"] = 1400 });

        var entry = Assert.Single(await api.Db.OutboxForAsync(Id(n)));
        Assert.Equal("network", entry.ResourceType);
        Assert.Equal("create", entry.Operation);
        Assert.Equal(1, entry.Revision);
        Assert.Equal(ApiFactory.Project1, entry.ProjectId);
        Assert.Equal(Id(n), Str(entry.Payload, "id"));
        Assert.Equal(Str(n, "name"), Str(entry.Payload, "name"));
        Assert.Equal(1400, entry.Payload["mtu"]!.GetValue<int>());
    }

    [Fact]
    public async Task Showing_a_network_returns_what_create_returned()
    {
        var created = await api.P1.CreateNetworkAsync();
        var shown = await api.P1.ShowAsync("networks", Id(created), "network");
        Assert.True(JsonNode.DeepEquals(created, shown), $"created {created.ToJsonString()} but shown {shown.ToJsonString()}");
    }

    [Fact]
    public async Task Showing_a_network_with_fields_returns_only_those_fields()
    {
        var created = await api.P1.CreateNetworkAsync();
        var shown = (await api.P1.GetAsync($"/v2.0/networks/{Id(created)}?fields=id&fields=name")).Expect(HttpStatusCode.OK).Item("network");
        Assert.Equal(["id", "name"], shown.Select(p => p.Key).Order());
    }

    [Fact]
    public async Task Showing_an_unknown_network_is_404_NetworkNotFound()
    {
        (await api.P1.GetAsync($"/v2.0/networks/{Guid.NewGuid()}")).ExpectNeutronError(HttpStatusCode.NotFound, "NetworkNotFound");
        (await api.P1.GetAsync("/v2.0/networks/not-a-uuid")).ExpectNeutronError(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Updating_a_network_is_200_with_the_next_revision_and_one_update_entry()
    {
        var n = await api.P1.CreateNetworkAsync();
        var updated = (await api.P1.PutAsync($"/v2.0/networks/{Id(n)}",
                new JsonObject { ["network"] = new JsonObject { ["name"] = "renamed", ["admin_state_up"] = false, ["mtu"] = 9000 } }))
            .Expect(HttpStatusCode.OK).Item("network");

        Assert.Equal("renamed", Str(updated, "name"));
        Assert.False(updated["admin_state_up"]!.GetValue<bool>());
        Assert.Equal(9000, updated["mtu"]!.GetValue<int>());
        Assert.Equal(2, Revision(updated));
        // Never applied by the back end yet: still to be created there.
        Assert.Equal("PENDING_CREATE", Str(updated, "status"));
        Assert.Equal(Str(n, "created_at"), Str(updated, "created_at"));

        var entries = await api.Db.OutboxForAsync(Id(n));
        Assert.Equal(["create", "update"], entries.Select(e => e.Operation));
        Assert.Equal(2, entries[1].Revision);
        Assert.Equal("renamed", Str(entries[1].Payload, "name"));

        var shown = await api.P1.ShowAsync("networks", Id(n), "network");
        Assert.True(JsonNode.DeepEquals(updated, shown), $"updated {updated.ToJsonString()} but shown {shown.ToJsonString()}");
    }

    [Fact]
    public async Task Updating_an_applied_network_makes_it_PENDING_UPDATE()
    {
        var n = await api.P1.CreateNetworkAsync();
        await api.Db.MarkActiveAsync("networks", Id(n));
        Assert.Equal("ACTIVE", Str(await api.P1.ShowAsync("networks", Id(n), "network"), "status"));

        var updated = (await api.P1.PutAsync($"/v2.0/networks/{Id(n)}",
            new JsonObject { ["network"] = new JsonObject { ["description"] = "changed" } })).Expect(HttpStatusCode.OK).Item("network");
        Assert.Equal("PENDING_UPDATE", Str(updated, "status"));
        Assert.Equal(2, Revision(updated));
    }

    [Fact]
    public async Task Every_update_increases_the_revision_by_one()
    {
        var n = await api.P1.CreateNetworkAsync();
        for (var i = 2; i <= 5; i++)
        {
            var updated = (await api.P1.PutAsync($"/v2.0/networks/{Id(n)}",
                new JsonObject { ["network"] = new JsonObject { ["name"] = $"v{i}" } })).Expect(HttpStatusCode.OK).Item("network");
            Assert.Equal(i, Revision(updated));
        }
        var entries = await api.Db.OutboxForAsync(Id(n));
        Assert.Equal([1L, 2, 3, 4, 5], entries.Select(e => e.Revision));
    }

    [Fact]
    public async Task Deleting_a_network_is_204_and_it_stays_visible_as_PENDING_DELETE_until_the_back_end_confirms()
    {
        var n = await api.P1.CreateNetworkAsync();
        var response = (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}")).Expect(HttpStatusCode.NoContent);
        Assert.Equal("", response.Text);

        Assert.Equal("PENDING_DELETE", Str(await api.P1.ShowAsync("networks", Id(n), "network"), "status"));
        Assert.True(await api.Db.ExistsAsync("networks", Id(n)));
        var list = (await api.P1.GetAsync($"/v2.0/networks?id={Id(n)}")).Expect(HttpStatusCode.OK).Items("networks");
        Assert.Equal("PENDING_DELETE", Str(Assert.Single(list)!, "status"));

        var entries = await api.Db.OutboxForAsync(Id(n));
        Assert.Equal(["create", "delete"], entries.Select(e => e.Operation));
    }

    [Fact]
    public async Task Deleting_a_network_deletes_its_subnets_with_their_entries_ordered_before_the_networks()
    {
        var n = await api.P1.CreateNetworkAsync();
        var s1 = await api.P1.CreateSubnetAsync(Id(n), "10.1.0.0/24");
        var s2 = await api.P1.CreateSubnetAsync(Id(n), "10.2.0.0/24");
        var before = await api.Db.MaxSeqAsync();

        (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}")).Expect(HttpStatusCode.NoContent);

        Assert.Equal("PENDING_DELETE", Str(await api.P1.ShowAsync("subnets", Id(s1), "subnet"), "status"));
        Assert.Equal("PENDING_DELETE", Str(await api.P1.ShowAsync("subnets", Id(s2), "subnet"), "status"));
        var entries = await api.Db.OutboxAfterAsync(before);
        Assert.Equal(3, entries.Count);
        Assert.All(entries, e => Assert.Equal("delete", e.Operation));
        var networkEntry = Assert.Single(entries, e => e.ResourceType == "network");
        Assert.Equal(Id(n), networkEntry.ResourceId.ToString());
        var subnetEntries = entries.Where(e => e.ResourceType == "subnet").ToList();
        Assert.Equal(new[] { Id(s1), Id(s2) }.Order(), subnetEntries.Select(e => e.ResourceId.ToString()).Order());
        Assert.All(subnetEntries, e => Assert.True(e.Seq < networkEntry.Seq, "a subnet's delete entry must come before its network's"));
    }

    [Fact]
    public async Task Deleting_a_network_with_ports_is_409_NetworkInUse()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync();
        await api.P1.CreatePortAsync(Id(n));
        var before = await api.Db.FingerprintAsync();

        var error = (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}")).ExpectNeutronError(HttpStatusCode.Conflict, "NetworkInUse");
        Assert.Contains("There are one or more ports still in use on the network", error["message"]!.GetValue<string>());
        Assert.Equal(before, await api.Db.FingerprintAsync());
        Assert.Equal("PENDING_CREATE", Str(await api.P1.ShowAsync("networks", Id(n), "network"), "status"));
    }

    [Fact]
    public async Task A_port_already_PENDING_DELETE_does_not_block_its_networks_delete()
    {
        var (n, _) = await api.P1.CreateNetworkWithSubnetAsync();
        var port = await api.P1.CreatePortAsync(Id(n));
        (await api.P1.DeleteAsync($"/v2.0/ports/{Id(port)}")).Expect(HttpStatusCode.NoContent);

        (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}")).Expect(HttpStatusCode.NoContent);
        Assert.Equal("PENDING_DELETE", Str(await api.P1.ShowAsync("networks", Id(n), "network"), "status"));
    }

    [Fact]
    public async Task A_subnet_already_PENDING_DELETE_does_not_block_its_networks_delete_and_gets_no_second_entry()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync();
        (await api.P1.DeleteAsync($"/v2.0/subnets/{Id(s)}")).Expect(HttpStatusCode.NoContent);

        (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}")).Expect(HttpStatusCode.NoContent);
        Assert.Equal(["create", "delete"], (await api.Db.OutboxForAsync(Id(s))).Select(e => e.Operation));
        // The subnet's create and delete each moved the network (an update each); its own delete adds no subnet's.
        Assert.Equal(["create", "update", "update", "delete"], (await api.Db.OutboxForAsync(Id(n))).Select(e => e.Operation));
    }

    [Fact]
    public async Task Showing_a_network_lists_its_subnets()
    {
        var (n, s) = await api.P1.CreateNetworkWithSubnetAsync();
        var shown = await api.P1.ShowAsync("networks", Id(n), "network");
        Assert.Equal([Id(s)], Strings(shown["subnets"]));
    }

    [Fact]
    public async Task Bulk_create_returns_every_network_with_one_create_entry_each()
    {
        var names = Enumerable.Range(0, 3).Select(_ => Unique("bulk")).ToList();
        var body = new JsonObject
        {
            ["networks"] = new JsonArray(names.Select(n => (JsonNode)new JsonObject { ["name"] = n }).ToArray()),
        };
        var response = (await api.P1.PostAsync("/v2.0/networks", body)).Expect(HttpStatusCode.Created);
        var created = response.Items("networks");

        Assert.Equal(names, created.Select(c => Str(c!, "name")));
        Assert.All(created, c => Assert.Equal("PENDING_CREATE", Str(c!, "status")));
        foreach (var c in created)
        {
            var entry = Assert.Single(await api.Db.OutboxForAsync(Id(c!)));
            Assert.Equal("create", entry.Operation);
        }
    }

    [Fact]
    public async Task Bulk_create_with_one_invalid_item_is_400_and_creates_nothing()
    {
        var before = await api.Db.FingerprintAsync();
        var body = new JsonObject
        {
            ["networks"] = new JsonArray(
                new JsonObject { ["name"] = Unique("ok") },
                new JsonObject { ["name"] = Unique("ok") },
                new JsonObject { ["name"] = Unique("bad"), ["mtu"] = "not-a-number" }),
        };
        (await api.P1.PostAsync("/v2.0/networks", body)).ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Bulk_create_with_a_forbidden_item_is_403_and_creates_nothing()
    {
        var before = await api.Db.FingerprintAsync();
        var body = new JsonObject
        {
            ["networks"] = new JsonArray(
                new JsonObject { ["name"] = Unique("ok") },
                new JsonObject { ["name"] = Unique("bad"), ["project_id"] = ApiFactory.Project2 }),
        };
        (await api.P1.PostAsync("/v2.0/networks", body)).ExpectNeutronError(HttpStatusCode.Forbidden);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Admin_may_create_a_network_in_another_project_and_set_shared_and_external()
    {
        var n = await api.Admin.CreateNetworkAsync(extra: new JsonObject
        {
            ["project_id"] = ApiFactory.Project1,
            ["shared"] = true,
            ["router:external"] = true,
        });
        Assert.Equal(ApiFactory.Project1, Str(n, "project_id"));
        Assert.Equal(ApiFactory.Project1, Str(n, "tenant_id"));
        Assert.True(n["shared"]!.GetValue<bool>());
        Assert.True(n["router:external"]!.GetValue<bool>());
        Assert.Equal(ApiFactory.Project1, Assert.Single(await api.Db.OutboxForAsync(Id(n))).ProjectId);
        // The owner sees it as its own.
        await api.P1.ShowAsync("networks", Id(n), "network");
    }

    [Fact]
    public async Task Creating_with_tenant_id_alone_sets_project_id()
    {
        var n = await api.Admin.CreateNetworkAsync(extra: new JsonObject { ["tenant_id"] = "legacy-project" });
        Assert.Equal("legacy-project", Str(n, "project_id"));
        Assert.Equal("legacy-project", Str(n, "tenant_id"));
    }

    [Fact]
    public async Task A_non_admin_may_name_its_own_project()
    {
        var n = await api.P1.CreateNetworkAsync(extra: new JsonObject { ["project_id"] = ApiFactory.Project1, ["tenant_id"] = ApiFactory.Project1 });
        Assert.Equal(ApiFactory.Project1, Str(n, "project_id"));
    }

    [Fact]
    public async Task Update_with_a_current_If_Match_revision_succeeds_and_a_stale_one_is_412()
    {
        var n = await api.P1.CreateNetworkAsync();
        var body = new JsonObject { ["network"] = new JsonObject { ["name"] = "if-match" } };
        (await api.P1.PutAsync($"/v2.0/networks/{Id(n)}", body, ifMatch: "revision_number=1")).Expect(HttpStatusCode.OK);

        var before = await api.Db.FingerprintAsync();
        (await api.P1.PutAsync($"/v2.0/networks/{Id(n)}", body.DeepClone(), ifMatch: "revision_number=1"))
            .ExpectNeutronError(HttpStatusCode.PreconditionFailed);
        Assert.Equal(before, await api.Db.FingerprintAsync());
        Assert.Equal(2, Revision(await api.P1.ShowAsync("networks", Id(n), "network")));
    }

    [Fact]
    public async Task Delete_with_a_stale_If_Match_revision_is_412_and_with_the_current_one_succeeds()
    {
        var n = await api.P1.CreateNetworkAsync();
        (await api.P1.PutAsync($"/v2.0/networks/{Id(n)}", new JsonObject { ["network"] = new JsonObject { ["name"] = "r2" } }))
            .Expect(HttpStatusCode.OK);

        var before = await api.Db.FingerprintAsync();
        (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}", ifMatch: "revision_number=1")).ExpectNeutronError(HttpStatusCode.PreconditionFailed);
        Assert.Equal(before, await api.Db.FingerprintAsync());

        (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}", ifMatch: "revision_number=2")).Expect(HttpStatusCode.NoContent);
        Assert.Equal("PENDING_DELETE", Str(await api.P1.ShowAsync("networks", Id(n), "network"), "status"));
    }

    [Fact]
    public async Task The_back_end_catching_up_does_not_make_If_Match_stale()
    {
        var n = await api.P1.CreateNetworkAsync();
        await api.Db.MarkActiveAsync("networks", Id(n));
        (await api.P1.PutAsync($"/v2.0/networks/{Id(n)}", new JsonObject { ["network"] = new JsonObject { ["name"] = "x" } },
            ifMatch: $"revision_number={Revision(n)}")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Non_admin_cannot_make_a_network_shared_on_update()
    {
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PutAsync($"/v2.0/networks/{Id(n)}", new JsonObject { ["network"] = new JsonObject { ["shared"] = true } }))
            .ExpectNeutronError(HttpStatusCode.Forbidden);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Another_project_cannot_update_or_delete_a_shared_network_it_can_see()
    {
        var shared = await api.Admin.CreateNetworkAsync(extra: new JsonObject { ["project_id"] = ApiFactory.Project1, ["shared"] = true });
        await api.P2.ShowAsync("networks", Id(shared), "network");
        var before = await api.Db.FingerprintAsync();

        var attempts = new[]
        {
            await api.P2.PutAsync($"/v2.0/networks/{Id(shared)}", new JsonObject { ["network"] = new JsonObject { ["name"] = "hijacked" } }),
            await api.P2.PutAsync($"/v2.0/networks/{Id(shared)}/tags/hijacked"),
            await api.P2.PutAsync($"/v2.0/networks/{Id(shared)}/tags", new JsonObject { ["tags"] = new JsonArray("hijacked") }),
            await api.P2.DeleteAsync($"/v2.0/networks/{Id(shared)}/tags"),
            await api.P2.DeleteAsync($"/v2.0/networks/{Id(shared)}"),
        };
        var allowed = attempts.Where(r => r.Status is not (HttpStatusCode.Forbidden or HttpStatusCode.NotFound))
            .Select(r => $"{r.Request} -> {(int)r.Status}").ToList();
        Assert.True(allowed.Count == 0, "a non-owner changed a shared network: " + string.Join("; ", allowed));
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Concurrent_updates_of_one_network_each_get_their_own_revision_and_entry()
    {
        var n = await api.P1.CreateNetworkAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() =>
            api.P1.PutAsync($"/v2.0/networks/{Id(n)}", new JsonObject { ["network"] = new JsonObject { ["name"] = $"c{i}" } }))));
        Assert.All(responses, r => r.Expect(HttpStatusCode.OK));
        var revisions = responses.Select(r => Revision(r.Item("network"))).Order().ToList();
        Assert.Equal(Enumerable.Range(2, 20).Select(i => (long)i), revisions);

        var entries = await api.Db.OutboxForAsync(Id(n));
        Assert.Equal(Enumerable.Range(1, 21).Select(i => (long)i), entries.Select(e => e.Revision));
        // The entry of the highest revision carries the final state.
        var final = await api.P1.ShowAsync("networks", Id(n), "network");
        Assert.Equal(21, Revision(final));
        Assert.Equal(Str(final, "name"), Str(entries[^1].Payload, "name"));
    }

    [Fact]
    public async Task Deleting_a_network_twice_appends_only_one_delete_entry()
    {
        var n = await api.P1.CreateNetworkAsync();
        (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}")).Expect(HttpStatusCode.NoContent);
        (await api.P1.DeleteAsync($"/v2.0/networks/{Id(n)}")).ExpectOneOf(HttpStatusCode.NoContent, HttpStatusCode.NotFound);
        Assert.Equal(["create", "delete"], (await api.Db.OutboxForAsync(Id(n))).Select(e => e.Operation));
    }

    [Fact]
    public async Task With_HidePendingDeletes_a_deleted_network_vanishes_from_show_and_list_but_its_row_stays()
    {
        await using var hiding = api.WithWebHostBuilder(b => b.UseSetting("Api:HidePendingDeletes", "true"));
        var client = new ApiClient(hiding.CreateClient(), ApiFactory.P1Token);
        var n = await client.CreateNetworkAsync();
        (await client.DeleteAsync($"/v2.0/networks/{Id(n)}")).Expect(HttpStatusCode.NoContent);

        (await client.GetAsync($"/v2.0/networks/{Id(n)}")).ExpectNeutronError(HttpStatusCode.NotFound);
        Assert.Empty((await client.GetAsync($"/v2.0/networks?id={Id(n)}")).Expect(HttpStatusCode.OK).Items("networks"));
        Assert.True(await api.Db.ExistsAsync("networks", Id(n)));
        // Without the option the same row shows as PENDING_DELETE.
        Assert.Equal("PENDING_DELETE", Str(await api.P1.ShowAsync("networks", Id(n), "network"), "status"));
    }

    [Fact]
    public async Task Updating_a_network_never_changes_its_project_or_created_at()
    {
        var n = await api.P1.CreateNetworkAsync();
        var updated = (await api.Admin.PutAsync($"/v2.0/networks/{Id(n)}", new JsonObject { ["network"] = new JsonObject { ["name"] = "by-admin" } }))
            .Expect(HttpStatusCode.OK).Item("network");
        Assert.Equal(ApiFactory.Project1, Str(updated, "project_id"));
        Assert.Equal(Str(n, "created_at"), Str(updated, "created_at"));
        Assert.True(string.CompareOrdinal(Str(updated, "updated_at"), Str(n, "updated_at")) >= 0);
    }

    [Fact]
    public async Task A_failed_network_shows_ERROR_with_its_reason_and_a_new_update_clears_the_reason()
    {
        var n = await api.P1.CreateNetworkAsync();
        await api.Db.ExecuteAsync("update networks set status = 'ERROR', status_reason = 'back end said no' where id = $1", Guid.Parse(Id(n)));
        var shown = await api.P1.ShowAsync("networks", Id(n), "network");
        Assert.Equal("ERROR", Str(shown, "status"));
        Assert.Equal("back end said no", Str(shown, "status_reason"));
        Assert.Equal(1, Revision(shown));

        var retried = (await api.P1.PutAsync($"/v2.0/networks/{Id(n)}", new JsonObject { ["network"] = new JsonObject { ["name"] = "retry" } }))
            .Expect(HttpStatusCode.OK).Item("network");
        Assert.StartsWith("PENDING_", Str(retried, "status"));
        Assert.Null(retried["status_reason"]);
        Assert.Equal(2, Revision(retried));
    }

    [Fact]
    public async Task A_new_outbox_entry_is_pending_with_no_attempts_and_the_callers_project()
    {
        var n = await api.P2.CreateNetworkAsync();
        var row = await api.Db.ScalarAsync<string>(
            "select state || '|' || attempts || '|' || project_id || '|' || (next_attempt_at <= now() + interval '1 minute') from outbox_entries where resource_id = $1",
            Guid.Parse(Id(n)));
        Assert.Equal($"pending|0|{ApiFactory.Project2}|true", row);
    }

    [Theory]
    [InlineData(67)]
    [InlineData(0)]
    [InlineData(9217)]
    public async Task An_mtu_below_68_or_above_the_configured_maximum_is_400_on_create_and_update(int mtu)
    {
        var n = await api.P1.CreateNetworkAsync();
        var before = await api.Db.FingerprintAsync();
        (await api.P1.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["mtu"] = mtu } }))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        (await api.P1.PutAsync($"/v2.0/networks/{Id(n)}", new JsonObject { ["network"] = new JsonObject { ["mtu"] = mtu } }))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task The_maximum_mtu_is_Api_MaxMtu()
    {
        await using var capped = api.WithWebHostBuilder(b => b.UseSetting("Api:MaxMtu", "1500"));
        var client = new ApiClient(capped.CreateClient(), ApiFactory.P1Token);
        var n = (await client.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["mtu"] = 1500 } }))
            .Expect(HttpStatusCode.Created).Item("network");
        var before = await api.Db.FingerprintAsync();
        (await client.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["mtu"] = 1501 } }))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        (await client.PutAsync($"/v2.0/networks/{Id(n)}", new JsonObject { ["network"] = new JsonObject { ["mtu"] = 9000 } }))
            .ExpectNeutronError(HttpStatusCode.BadRequest);
        Assert.Equal(before, await api.Db.FingerprintAsync());
    }

    [Fact]
    public async Task Lowering_the_mtu_below_1280_is_400_on_a_network_with_an_ipv6_subnet_and_allowed_on_an_ipv4_one()
    {
        var v6 = await api.P1.CreateNetworkAsync();
        await api.P1.CreateSubnetAsync(Id(v6), "2001:db8:60::/64");
        var before = await api.Db.FingerprintAsync();
        var error = (await api.P1.PutAsync($"/v2.0/networks/{Id(v6)}", new JsonObject { ["network"] = new JsonObject { ["mtu"] = 1279 } }))
            .ExpectNeutronError(HttpStatusCode.BadRequest, "InvalidInput");
        Assert.Contains("1280", error["message"]!.GetValue<string>());
        Assert.Equal(before, await api.Db.FingerprintAsync());
        Assert.Equal(1280, (await api.P1.PutAsync($"/v2.0/networks/{Id(v6)}", new JsonObject { ["network"] = new JsonObject { ["mtu"] = 1280 } }))
            .Expect(HttpStatusCode.OK).Item("network")["mtu"]!.GetValue<int>());

        var (v4, _) = await api.P1.CreateNetworkWithSubnetAsync("10.60.0.0/24");
        Assert.Equal(576, (await api.P1.PutAsync($"/v2.0/networks/{Id(v4)}", new JsonObject { ["network"] = new JsonObject { ["mtu"] = 576 } }))
            .Expect(HttpStatusCode.OK).Item("network")["mtu"]!.GetValue<int>());
    }
}
