using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Requests;
using OutboxSync.Resources;

namespace OutboxSync.Api.Endpoints;

/// <summary>
/// Neutron's <c>binding</c> extension on ports, with Neutron's default policy: only admin may set or see
/// <c>binding:host_id</c> and <c>binding:profile</c>, or see <c>binding:vif_type</c> and <c>binding:vif_details</c>;
/// the owner may set and see <c>binding:vnic_type</c>. The stored binding (host, vnic type, profile) is part of the
/// port's desired state; vif type and details are derived here when a port is rendered for a caller: <c>unbound</c>
/// without a host, <c>binding_failed</c> when the back end refused the bound port (status ERROR), otherwise the
/// configured <see cref="PortBindingOptions.VifType"/>, which a bound port reports as soon as it is accepted, since
/// Nova reads it from the update that sets the host.
/// </summary>
public sealed class PortBindings(IOptions<PortBindingOptions> options)
{
    private const int MaxProfileLength = 4095;

    /// <summary>Admin-only attributes, removed from every view a non-admin caller gets.</summary>
    private static readonly string[] AdminOnly = [PortBinding.HostId, PortBinding.Profile, PortBinding.VifType, PortBinding.VifDetails];

    private readonly JsonObject _vifDetails = Details(options.Value.VifDetails);

    /// <summary>Whether a non-admin may filter or sort by <paramref name="attribute"/>.</summary>
    public static bool IsAdminOnly(string attribute) => AdminOnly.Contains(attribute, StringComparer.Ordinal);

    /// <summary>Reads the binding attributes of a port create or update into <paramref name="port"/>; true when any
    /// was given. Setting an admin-only one without admin is refused as Neutron's policy does (403).</summary>
    public static bool Read(Attributes a, Port port, TenantContext tenant)
    {
        a.ReadOnly(PortBinding.VifType, PortBinding.VifDetails);
        var given = false;
        if (a.Has(PortBinding.HostId))
        {
            Authorize(tenant, a, PortBinding.HostId);
            // Nova unbinds with null (or an empty string).
            port.BindingHostId = a.String(PortBinding.HostId, nullable: true) ?? "";
            given = true;
        }
        if (a.Has(PortBinding.Profile))
        {
            Authorize(tenant, a, PortBinding.Profile);
            port.BindingProfile = Profile(a);
            given = true;
        }
        if (a.String(PortBinding.VnicType, 64) is { } vnicType)
        {
            if (!PortBinding.VnicTypes.Contains(vnicType, StringComparer.Ordinal))
            {
                throw a.Invalid(PortBinding.VnicType,
                    $"'{RequestBody.Truncate(vnicType)}' is not in [{string.Join(", ", PortBinding.VnicTypes.Select(v => $"'{v}'"))}]");
            }
            port.BindingVnicType = vnicType;
            given = true;
        }
        return given;
    }

    /// <summary>The view of a port (<see cref="ResourceViews.Port"/>) this caller gets: the derived attributes added, the
    /// admin-only ones removed for anyone else. <paramref name="view"/> is changed and returned.</summary>
    public JsonObject Present(JsonObject view, TenantContext tenant)
    {
        if (!tenant.IsAdmin)
        {
            foreach (var key in AdminOnly)
            {
                view.Remove(key);
            }
            return view;
        }
        var host = view[PortBinding.HostId]?.GetValue<string>() ?? "";
        var status = view["status"]?.GetValue<string>();
        var (vifType, details) = host.Length == 0 ? (PortBinding.Unbound, new JsonObject())
            : status == ResourceStatus.Error ? (PortBinding.BindingFailed, new JsonObject())
            : (options.Value.VifType, (JsonObject)_vifDetails.DeepClone());
        view[PortBinding.VifType] = vifType;
        view[PortBinding.VifDetails] = details;
        return view;
    }

    private static void Authorize(TenantContext tenant, Attributes a, string attribute)
    {
        if (!tenant.IsAdmin)
        {
            var action = a.IsCreate ? "create_port" : "update_port";
            throw NeutronException.Forbidden($"(rule:{action} and rule:{action}:{attribute}) is disallowed by policy");
        }
    }

    /// <summary>A dict, or null for none ({}), stored as jsonb: no NUL or unpaired surrogate anywhere in it, at most
    /// 4,095 characters serialised (Neutron's column).</summary>
    private static string Profile(Attributes a)
    {
        var profile = a.Object(PortBinding.Profile);
        if (profile is null)
        {
            return "{}";
        }
        if (!Storable(profile))
        {
            throw a.Invalid(PortBinding.Profile, "must be valid UTF-8 text without NUL characters");
        }
        var text = profile.ToJsonString();
        return text.Length <= MaxProfileLength ? text
            : throw a.Invalid(PortBinding.Profile, $"exceeds maximum length of {MaxProfileLength}");
    }

    private static bool Storable(JsonNode? node) => node switch
    {
        JsonObject o => o.All(p => Attributes.IsStorableText(p.Key) && Storable(p.Value)),
        JsonArray array => array.All(Storable),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => Attributes.IsStorableText(v.GetValue<string>()),
        _ => true,
    };

    private static JsonObject Details(Dictionary<string, string> configured)
    {
        var details = new JsonObject();
        foreach (var (key, value) in configured.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            details[key] = bool.TryParse(value, out var flag) ? JsonValue.Create(flag)
                : long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? JsonValue.Create(number)
                : JsonValue.Create(value);
        }
        return details;
    }
}
