using System.Net;
using OutboxSync.Simulator.Tests.Support;

namespace OutboxSync.Simulator.Tests;

/// <summary>Security groups at the gateway: rules need their group (and remote group), ports need their groups,
/// and a group with rules or ports naming it cannot be deleted.</summary>
public sealed class SecurityGroupTests
{
    [Fact]
    public async Task A_rule_needs_its_group_and_its_remote_group_to_exist()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("security-groups", "g1", 1).ExpectAsync(HttpStatusCode.Created);

        await gw.CreateAsync("security-group-rules", "r1", 1, new { SecurityGroupId = "g-missing", Direction = "ingress" })
            .ExpectErrorAsync(HttpStatusCode.Conflict, "unknown_parent");
        await gw.CreateAsync("security-group-rules", "r2", 1, new { SecurityGroupId = "g1", Direction = "ingress", RemoteGroupId = "g-missing" })
            .ExpectErrorAsync(HttpStatusCode.Conflict, "unknown_parent");
        await gw.CreateAsync("security-group-rules", "r3", 1, new { Direction = "ingress" }).ExpectErrorAsync(HttpStatusCode.BadRequest, "bad_request");
        // A default group's ingress rule names its own group as the remote side.
        await gw.CreateAsync("security-group-rules", "r4", 1, new { SecurityGroupId = "g1", Direction = "ingress", RemoteGroupId = "g1" })
            .ExpectAsync(HttpStatusCode.Created);

        Assert.Equal(new Dictionary<string, long> { ["child_before_parent"] = 2 }, await gw.NonZeroViolationsAsync());
        Assert.Equal(HttpStatusCode.OK, await gw.StatusOfGetAsync("/v1/security-group-rules/r4"));
    }

    [Fact]
    public async Task A_group_is_deleted_only_after_its_rules_and_the_ports_that_name_it()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("networks", "n1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("security-groups", "g1", 1).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("security-group-rules", "r1", 1, new { SecurityGroupId = "g1", Direction = "egress", RemoteGroupId = "g1" })
            .ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("ports", "p1", 1, new { NetworkId = "n1", SecurityGroups = new[] { "g1" } }).ExpectAsync(HttpStatusCode.Created);
        await gw.CreateAsync("ports", "p2", 1, new { NetworkId = "n1", SecurityGroups = new[] { "g-missing" } })
            .ExpectErrorAsync(HttpStatusCode.Conflict, "unknown_parent");

        await gw.DeleteAsync("security-groups", "g1").ExpectErrorAsync(HttpStatusCode.Conflict, "has_children");
        await gw.DeleteAsync("security-group-rules", "r1").ExpectAsync(HttpStatusCode.NoContent);
        await gw.DeleteAsync("security-groups", "g1", key: "again").ExpectErrorAsync(HttpStatusCode.Conflict, "has_children");
        // The port leaves the group by an update; then the group may go.
        await gw.UpdateAsync("ports", "p1", 2, new { NetworkId = "n1", SecurityGroups = Array.Empty<string>() }).ExpectAsync(HttpStatusCode.OK);
        await gw.DeleteAsync("security-groups", "g1", key: "third").ExpectAsync(HttpStatusCode.NoContent);

        Assert.Equal(new Dictionary<string, long> { ["child_before_parent"] = 1, ["parent_deleted_before_child"] = 2 }, await gw.NonZeroViolationsAsync());
    }
}
