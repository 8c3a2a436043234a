using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using OutboxSync.Api.Errors;

namespace OutboxSync.Api.Endpoints;

/// <summary>Advertises exactly the extensions this API implements.</summary>
public static class ExtensionsEndpoints
{
    private static readonly (string Alias, string Name, string Description)[] Implemented =
    [
        ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."),
        ("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
        ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
        ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
        ("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
        ("standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes"),
        ("standard-attr-revisions", "Resource revision numbers", "This extension will display the revision number of neutron resources."),
        ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."),
        ("standard-attr-tag", "Tag support for resources with standard attribute: subnet, network, port, router, security_group, subnetpool", "Enables to set tag on resources with standard attribute."),
        ("sorting", "Sorting support", "Enables sorting of resources."),
        ("pagination", "Pagination support", "Enables pagination of resources."),
        ("filter-validation", "Filter parameters validation", "Provides validation on filter parameters."),
        ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
        ("security-group", "security-group", "The security groups extension."),
        ("stateful-security-group", "Stateful security group", "Indicates if the security group is stateful or not"),
        ("port-security-groups-filtering", "Port filtering on security groups", "Provides security groups filtering when listing ports"),
        ("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool"),
    ];

    public static IEndpointRouteBuilder MapExtensions(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v2.0/extensions").WithTags("extensions");
        group.MapGet("/", () => TypedResults.Ok(new JsonObject
        {
            ["extensions"] = new JsonArray(Implemented.Select(e => (JsonNode)Describe(e)).ToArray()),
        }));
        group.MapGet("/{alias}", Show);
        return app;
    }

    private static Ok<JsonObject> Show(string alias)
    {
        var found = Implemented.FirstOrDefault(e => e.Alias == alias);
        return found.Alias is null
            ? throw new NeutronException(404, "HTTPNotFound", $"Extension with alias {Requests.RequestBody.Truncate(alias)} does not exist")
            : TypedResults.Ok(new JsonObject { ["extension"] = Describe(found) });
    }

    private static JsonObject Describe((string Alias, string Name, string Description) e) => new()
    {
        ["alias"] = e.Alias,
        ["name"] = e.Name,
        ["description"] = e.Description,
        ["updated"] = "2013-01-01T00:00:00-00:00",
        ["links"] = new JsonArray(),
    };
}
