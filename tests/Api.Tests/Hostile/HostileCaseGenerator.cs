using System.Text;

namespace OutboxSync.Api.Tests.Hostile;

/// <summary>
/// Resources the generated requests point at. <see cref="Clean"/> ones are only ever sent requests that must be
/// rejected (so they never gain tags or change); <see cref="Scratch"/> ones take the possibly-valid hostile writes;
/// <see cref="Foreign"/> ones belong to project2 and must behave exactly like ids that do not exist.
/// </summary>
public sealed record HostileTargets(
    IReadOnlyDictionary<string, string> Clean,
    IReadOnlyDictionary<string, string> Scratch,
    IReadOnlyDictionary<string, string> Foreign,
    string ScratchNetworkId);

/// <summary>
/// Deterministic generator of malformed requests for every endpoint. The same seed gives the same cases in the
/// same order, so a failure names a reproducible case.
/// </summary>
public sealed class HostileCaseGenerator(HostileTargets targets, int seed = 20261123)
{
    private const string P1 = ApiFactory.P1Token;
    private const string Admin = ApiFactory.AdminToken;
    private const int OversizedBytes = 1024 * 1024 + 4096;

    private readonly Random _rng = new(seed);

    private static readonly string[] UnknownFields =
    [
        "colour", "__proto__", "constructor", "Name", "NAME", "name ", " name", "name\u0000", "name'; drop table networks; --",
        "$where", "id)", "tenant_id\"", "router:external:x", "a.b", "", "\u202ename", new string('k', 300),
    ];

    /// <summary>Attribute → values (JSON text) that the attribute must refuse, per resource.</summary>
    private static Dictionary<string, string[]> BadValues(string collection)
    {
        var notString = HostileValues.NotStrings;
        var tooLongName = HostileValues.Json(new string('n', 256));
        var strings = notString.Append(tooLongName).Append("\"nul\\u0000char\"").ToArray();
        var common = new Dictionary<string, string[]>
        {
            ["name"] = strings,
            ["description"] = notString.Append(HostileValues.Json(new string('d', 256))).Append("\"nul\\u0000\"").ToArray(),
            ["admin_state_up"] = HostileValues.NotBooleans,
            ["id"] = ["\"8d3a1a6e-1b55-4a8e-9a53-0d0c7f1e2b44\"", "42", "\"x\""],
            ["status"] = ["\"ACTIVE\"", "\"' or 1=1\"", "1"],
            ["revision_number"] = ["5", "-1", "\"x\""],
            ["created_at"] = ["\"2020-01-01T00:00:00Z\"", "\"x\""],
            ["updated_at"] = ["\"2020-01-01T00:00:00Z\""],
            ["project_id"] = ["\"project2\"", "42", "[]", "\"' or '1'='1\""],
            ["tenant_id"] = ["\"project2\"", "42", "{}"],
        };
        var uuids = HostileValues.InvalidUuids.Select(HostileValues.Json).Concat(["42", "true", "[]", "{}", "null"]).ToArray();
        switch (collection)
        {
            case "networks":
                common["mtu"] = ["\"large\"", "1.5", "10", "67", "9217", "-1", "100000", "99999999999999999999", "1e309", "true", "[]", "\"fifteen\"", "null"];
                common["shared"] = HostileValues.NotBooleans;
                common["subnets"] = ["[]", "[\"x\"]"];
                break;
            case "subnets":
                common["network_id"] = uuids;
                common["cidr"] = HostileValues.InvalidCidrs.Select(HostileValues.Json).Concat(["42", "[]", "{}", "null", "true"]).ToArray();
                common["ip_version"] = ["5", "0", "-4", "\"four\"", "4.5", "1e309", "[]", "null", "true", "6"];
                common["gateway_ip"] = HostileValues.InvalidIps.Select(HostileValues.Json).Concat(["42", "[]", "{}"]).ToArray();
                common["enable_dhcp"] = HostileValues.NotBooleans;
                common["dns_nameservers"] = HostileValues.NotLists
                    .Concat(HostileValues.InvalidIps.Take(8).Select(ip => $"[{HostileValues.Json(ip)}]"))
                    .Append("[1]").Append("[null]").Append("[[]]").ToArray();
                common["allocation_pools"] = HostileValues.NotLists
                    .Concat([
                        "[1]", "[\"x\"]", "[{}]", "[{\"start\":\"10.77.1.10\"}]", "[{\"start\":\"x\",\"end\":\"y\"}]",
                        "[{\"start\":\"10.77.1.20\",\"end\":\"10.77.1.10\"}]", "[{\"start\":\"10.99.0.1\",\"end\":\"10.99.0.9\"}]",
                        "[{\"start\":\"10.77.1.10\",\"end\":\"10.77.1.20\",\"colour\":1}]", "[{\"start\":5,\"end\":6}]",
                        "[{\"start\":\"2001:db8::1\",\"end\":\"2001:db8::9\"}]",
                    ]).ToArray();
                break;
            case "ports":
                common["network_id"] = uuids;
                common["mac_address"] = HostileValues.InvalidMacs.Select(HostileValues.Json).Concat(["42", "[]", "{}", "null"]).ToArray();
                common["device_id"] = notString.Append(HostileValues.Json(new string('i', 256))).ToArray();
                common["device_owner"] = notString.Append(HostileValues.Json(new string('o', 256))).ToArray();
                common["fixed_ips"] = HostileValues.NotLists
                    .Concat(HostileValues.InvalidIps.Take(12).Select(ip => $"[{{\"ip_address\":{HostileValues.Json(ip)}}}]"))
                    .Concat(HostileValues.InvalidUuids.Take(8).Select(u => $"[{{\"subnet_id\":{HostileValues.Json(u)}}}]"))
                    .Concat(["[1]", "[\"x\"]", "[{\"colour\":1}]", "[{\"ip_address\":5}]", "[{\"ip_address\":\"10.99.0.5\"}]", "[[]]"])
                    .ToArray();
                break;
            case "routers":
                common["external_gateway_info"] = [
                    "\"x\"", "42", "[]", "{\"network_id\":\"not-a-uuid\"}", "{\"colour\":\"red\"}", "{\"network_id\":42}",
                    "{\"network_id\":\"8d3a1a6e-1b55-4a8e-9a53-0d0c7f1e2b44\",\"enable_snat\":\"maybe\"}",
                ];
                common["routes"] = HostileValues.NotLists
                    .Concat(HostileValues.InvalidCidrs.Take(10).Select(c => $"[{{\"destination\":{HostileValues.Json(c)},\"nexthop\":\"10.77.0.1\"}}]"))
                    .Concat(HostileValues.InvalidIps.Take(10).Select(ip => $"[{{\"destination\":\"10.9.0.0/24\",\"nexthop\":{HostileValues.Json(ip)}}}]"))
                    .Concat(["[1]", "[{}]", "[\"x\"]", "[{\"destination\":\"10.9.0.0/24\"}]"])
                    .ToArray();
                break;
        }
        return common;
    }

    /// <summary>Free-text attributes that accept any string: hostile strings there may be stored, but verbatim.</summary>
    private static string[] FreeText(string collection) => collection switch
    {
        "ports" => ["name", "description", "device_id", "device_owner"],
        _ => ["name", "description"],
    };

    private string BaseCreate(string collection) => collection switch
    {
        "subnets" => $"\"network_id\":\"{targets.ScratchNetworkId}\",\"cidr\":\"10.{_rng.Next(100, 250)}.{_rng.Next(0, 250)}.0/24\",\"ip_version\":4",
        "ports" => $"\"network_id\":\"{targets.ScratchNetworkId}\"",
        _ => "\"name\":\"hostile\"",
    };

    private static string[] RequiredOnCreate(string collection) => collection switch
    {
        "subnets" => ["network_id", "cidr", "ip_version"],
        "ports" => ["network_id"],
        _ => [],
    };

    // ---------------------------------------------------------------- resources

    public IEnumerable<HostileCase> Resource(string collection)
    {
        var singular = collection[..^1];
        var clean = targets.Clean[collection];
        var foreign = targets.Foreign[collection];
        var list = $"/v2.0/{collection}";

        foreach (var c in BodyCases($"{collection}.create", "POST", list, singular, collection, BaseCreate(collection), isCreate: true))
        {
            yield return c;
        }
        foreach (var c in BodyCases($"{collection}.update", "PUT", $"{list}/{clean}", singular, collection, "\"name\":\"hostile\"", isCreate: false))
        {
            yield return c;
        }
        // Hostile bodies never reach another project's resource or a missing one: 404 for both, nothing changes.
        foreach (var id in new[] { foreign, MissingId().ToString() })
        {
            yield return Case($"{collection}.update", "PUT", $"{list}/{id}", Body($"{{\"{singular}\":{{\"name\":\"x\"}}}}"), HostileExpectation.Rejected, "other project's or missing id");
        }
        foreach (var c in ListCases($"{collection}.list", list, collection))
        {
            yield return c;
        }
        foreach (var id in HostileIds(foreign))
        {
            yield return Case($"{collection}.show", "GET", $"{list}/{id}", null, HostileExpectation.ReadOnly, "hostile id");
            yield return Case($"{collection}.show", "GET", $"{list}/{clean}?fields={id}", null, HostileExpectation.ReadOnly, "hostile fields=");
            yield return Case($"{collection}.delete", "DELETE", $"{list}/{id}", null, HostileExpectation.Rejected, "hostile id");
            yield return Case($"{collection}.update", "PUT", $"{list}/{id}", Body($"{{\"{singular}\":{{\"name\":\"x\"}}}}"), HostileExpectation.Rejected, "hostile id");
        }
        // A body on DELETE is ignored, never parsed into a 500.
        foreach (var body in new[] { "{", "\u0000", new string('[', 10_000) })
        {
            yield return Case($"{collection}.delete", "DELETE", $"{list}/{foreign}", Body(body), HostileExpectation.Rejected, "body on delete", "text/plain");
        }
        yield return Case($"{collection}.delete", "DELETE", $"{list}/{foreign}", Oversized(singular), HostileExpectation.Rejected, "oversized body on delete");
        yield return Case($"{collection}.delete", "DELETE", $"{list}/{clean}", null, HostileExpectation.Rejected, "garbage If-Match",
            headers: [new("If-Match", "revision_number=' or 1=1 --")]);
        yield return Case($"{collection}.update", "PUT", $"{list}/{clean}", Body($"{{\"{singular}\":{{\"name\":\"x\"}}}}"), HostileExpectation.Rejected,
            "garbage If-Match", headers: [new("If-Match", "revision_number=abc")]);
        yield return Case($"{collection}.update", "PUT", $"{list}/{clean}", Body($"{{\"{singular}\":{{\"name\":\"x\"}}}}"), HostileExpectation.Rejected,
            "stale If-Match", headers: [new("If-Match", "revision_number=999999")]);
    }

    /// <summary>Ids for a path segment: not UUIDs, metacharacters, huge, another project's.</summary>
    private IEnumerable<string> HostileIds(string foreign)
    {
        yield return foreign;
        yield return MissingId().ToString();
        yield return Guid.Empty.ToString();
        yield return foreign.ToUpperInvariant();
        yield return new string('a', 4000);
        foreach (var u in HostileValues.InvalidUuids.Where(u => u.Length > 0))
        {
            yield return Uri.EscapeDataString(u);
        }
        foreach (var m in Sample(HostileValues.Metacharacters.Where(m => m.Trim('.', '/').Length > 0), 20))
        {
            yield return Uri.EscapeDataString(m);
        }
        // (A NUL in the path is refused by Kestrel before the app: see TransportLimitTests.)
        yield return "%FF%FE";
        yield return "%C0%AF";
        yield return "%ED%A0%80";
    }

    private IEnumerable<HostileCase> BodyCases(string endpoint, string method, string path, string singular, string collection, string valid, bool isCreate)
    {
        var plural = collection;
        var validBody = $"{{\"{singular}\":{{{valid}}}}}";
        HostileCase Reject(string body, string why, string? contentType = "application/json") =>
            Case(endpoint, method, path, Body(body), HostileExpectation.Rejected, why, contentType);

        // Broken JSON.
        foreach (var (body, why) in new[]
        {
            ("", "empty body"), ("not json", "not JSON"), ("null", "null"), ("1", "a number"), ("\"s\"", "a string"), ("[]", "a list"),
            ("[{}]", "a list of objects"), ("{", "open brace"), ("}", "close brace"), ("{\"x\":}", "missing value"),
            ($"{{'{singular}':{{}}}}", "single quotes"), ($"{{{singular}:{{}}}}", "unquoted key"),
            ($"{{\"{singular}\":{{{valid}}},}}", "trailing comma"), ($"{{\"{singular}\":{{{valid},}}}}", "inner trailing comma"),
            ($"/* c */{validBody}", "comment"), ($"{validBody} {validBody}", "two documents"), ($"{validBody}x", "trailing garbage"),
            ($"{{\"{singular}\":NaN}}", "NaN"), ($"{{\"{singular}\":{{\"name\":\"a\\qb\"}}}}", "bad escape"),
            ($"{{\"{singular}\":{{\"name\":\"\\ud800\\u\"}}}}", "truncated escape"), ("\u0000", "NUL"), ("{\"a\":\"b\"\u0000}", "NUL after value"),
            ($"{{\"{singular}\":{{\"name\":\"line\nbreak\"}}}}", "raw control character in a string"),
        })
        {
            yield return Reject(body, why);
        }
        for (var i = 0; i < 12; i++)
        {
            var cut = _rng.Next(1, validBody.Length - 1);
            yield return Reject(validBody[..cut], $"truncated at {cut}");
        }

        // Envelope and shape.
        foreach (var (body, why) in new[]
        {
            ("{}", "no envelope"), ($"{{\"name\":\"x\"}}", "bare attributes"), ("{\"resource\":{}}", "wrong envelope"),
            ($"{{\"{singular}\":\"x\"}}", "envelope a string"), ($"{{\"{singular}\":null}}", "envelope null"),
            ($"{{\"{singular}\":[]}}", "envelope a list"), ($"{{\"{singular}\":42}}", "envelope a number"),
            ($"{{\"{singular}\":{{{valid}}},\"extra\":1}}", "two top-level keys"),
            ($"{{\"{singular}\":{{{valid}}},\"{plural}\":[{{{valid}}}]}}", "single and bulk together"),
            ($"{{\"{plural}\":[]}}", "empty bulk"), ($"{{\"{plural}\":{{}}}}", "bulk an object"), ($"{{\"{plural}\":[1]}}", "bulk of numbers"),
            ($"{{\"{plural}\":[{{{valid}}},\"x\"]}}", "bulk with a string"),
            ($"{{\"{singular}\":{{{valid}}},\"{singular}\":{{{valid}}}}}", "duplicate envelope"),
            ($"{{\"{singular}\":{{{valid},\"name\":\"a\",\"name\":\"b\"}}}}", "duplicate attribute"),
            ($"{{\"{singular}\":{{{valid},\"description\":\"a\",\"description\":\"a\"}}}}", "duplicate identical attribute"),
        })
        {
            yield return Reject(body, why);
        }
        if (isCreate)
        {
            var bulk = string.Join(",", Enumerable.Repeat($"{{{valid}}}", 1001));
            yield return Reject($"{{\"{plural}\":[{bulk}]}}", "bulk of 1001");
            foreach (var required in RequiredOnCreate(collection))
            {
                var without = string.Join(",", valid.Split(',').Where(p => !p.StartsWith($"\"{required}\"", StringComparison.Ordinal)));
                yield return Reject($"{{\"{singular}\":{{{without}}}}}", $"missing {required}");
                yield return Reject($"{{\"{plural}\":[{validBody[(singular.Length + 4)..^1]},{{{without}}}]}}", $"bulk item missing {required}");
            }
        }
        else
        {
            yield return Reject($"{{\"{plural}\":[{{\"name\":\"x\"}}]}}", "bulk update");
        }

        // Deep nesting, huge strings and arrays.
        foreach (var depth in new[] { 65, 1000, 10_000 })
        {
            yield return Reject(HostileValues.Nested(depth, objects: false), $"{depth} nested lists");
            yield return Reject(HostileValues.Nested(depth, objects: true), $"{depth} nested objects");
            yield return Reject($"{{\"{singular}\":{{{valid},\"name\":{HostileValues.Nested(depth, objects: false)}}}}}", $"name nested {depth} deep");
        }
        foreach (var size in new[] { 256, 10_000, 500_000 })
        {
            yield return Reject($"{{\"{singular}\":{{{valid},\"description\":\"{new string('d', size)}\"}}}}", $"description of {size}");
        }
        var huge = "[" + string.Join(",", Enumerable.Repeat("\"10.0.0.1\"", 50_000)) + "]";
        yield return Reject($"{{\"{singular}\":{{{valid},\"name\":{huge}}}}}", "name a list of 50,000");
        yield return Reject($"{{\"{singular}\":{{{valid},\"tags\":{huge}}}}}", "tags a list of 50,000");
        var manyKeys = string.Join(",", Enumerable.Range(0, 20_000).Select(i => $"\"k{i}\":{i}"));
        yield return Reject($"{{\"{singular}\":{{{valid},{manyKeys}}}}}", "20,000 unknown keys");
        var hugeNumber = new string('9', 100_000);
        yield return Reject($"{{\"{singular}\":{{{valid},\"revision_number\":{hugeNumber}}}}}", "a 100,000-digit number");

        // Unknown attributes and wrong values per attribute.
        foreach (var unknown in UnknownFields)
        {
            var value = HostileValues.AnyKind[_rng.Next(HostileValues.AnyKind.Length)];
            yield return Reject($"{{\"{singular}\":{{{valid},{HostileValues.Json(unknown)}:{value}}}}}", $"unknown attribute '{Short(unknown)}'");
        }
        foreach (var (attribute, values) in BadValues(collection))
        {
            foreach (var value in values)
            {
                var body = ReplaceAttribute(valid, attribute, value);
                yield return Reject($"{{\"{singular}\":{{{body}}}}}", $"{attribute}={Short(value)}");
            }
        }

        // Invalid UTF-8 somewhere in an otherwise valid body.
        var validBytes = HostileValues.Utf8($"{{\"{singular}\":{{{valid},\"description\":\"abcdefgh\"}}}}");
        foreach (var bad in HostileValues.InvalidUtf8)
        {
            var at = validBytes.Length - 5 - _rng.Next(0, 6);
            yield return Case(endpoint, method, path, [.. validBytes[..at], .. bad, .. validBytes[at..]], HostileExpectation.Rejected,
                $"invalid UTF-8 {Convert.ToHexString(bad)} in a string", "application/json");
            var anywhere = _rng.Next(0, validBytes.Length);
            yield return Case(endpoint, method, path, [.. validBytes[..anywhere], .. bad, .. validBytes[anywhere..]], HostileExpectation.Rejected,
                $"invalid UTF-8 {Convert.ToHexString(bad)} at {anywhere}", "application/json");
        }

        // Wrong or missing content type around a valid body; oversized bodies.
        foreach (var contentType in HostileValues.WrongContentTypes)
        {
            yield return Case(endpoint, method, path, Body(validBody), HostileExpectation.Rejected, $"content type '{contentType ?? "none"}'", contentType ?? HostileCase.NoContentType);
        }
        yield return Case(endpoint, method, path, Oversized(singular), HostileExpectation.Rejected, "oversized body (413)") with { ExactStatus = 413 };
        yield return Case(endpoint, method, path, Oversized(singular, 5), HostileExpectation.Rejected, "5 MiB body (413)") with { ExactStatus = 413 };
        yield return Case(endpoint, method, path, Oversized(singular), HostileExpectation.Rejected, "oversized body, wrong content type", "text/plain");

        // Hostile text in free-text attributes: may be stored, but exactly as sent.
        var scratchPath = isCreate ? path : path.Replace(targets.Clean[collection], targets.Scratch[collection], StringComparison.Ordinal);
        foreach (var attribute in FreeText(collection))
        {
            foreach (var text in HostileValues.Metacharacters.Concat(HostileValues.Unstorable))
            {
                var body = ReplaceAttribute(isCreate ? valid : "", attribute, HostileValues.Json(text));
                var expected = text;
                var field = attribute;
                yield return Case(endpoint, method, scratchPath, Body($"{{\"{singular}\":{{{body}}}}}"),
                    text.Contains('\0', StringComparison.Ordinal) ? HostileExpectation.Rejected : HostileExpectation.MayWrite,
                    $"{attribute}={Short(HostileValues.Json(text))}",
                    verify: HostileValues.Unstorable.Contains(text) ? null : r => r.Status is HttpStatusCode.Created or HttpStatusCode.OK
                        && r.Body?[singular]?[field]?.GetValue<string>() is { } stored && stored != expected
                            ? $"stored {field} '{Short(stored)}' differs from the '{Short(expected)}' sent"
                            : null);
            }
        }
    }

    private static string ReplaceAttribute(string valid, string attribute, string value)
    {
        var parts = valid.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !p.StartsWith($"\"{attribute}\"", StringComparison.Ordinal)).ToList();
        parts.Add($"\"{attribute}\":{value}");
        return string.Join(",", parts);
    }

    // ---------------------------------------------------------------- lists

    private IEnumerable<HostileCase> ListCases(string endpoint, string path, string collection)
    {
        string[] keys = collection switch
        {
            "networks" => ["name", "id", "description", "status", "admin_state_up", "mtu", "shared", "project_id", "tenant_id", "revision_number"],
            "subnets" => ["name", "id", "network_id", "cidr", "ip_version", "gateway_ip", "enable_dhcp", "project_id"],
            "ports" => ["name", "id", "network_id", "mac_address", "device_id", "device_owner", "status", "fixed_ips"],
            _ => ["name", "id", "status", "admin_state_up", "project_id", "description"],
        };
        string[] reserved = ["sort_key", "sort_dir", "marker", "fields", "limit", "changed_since", "tags", "tags-any", "not-tags", "not-tags-any", "page_reverse"];
        var values = HostileValues.Metacharacters
            .Concat(HostileValues.InvalidUuids.Take(6))
            .Concat(["%00", "\0", "%ED%A0%80", new string('x', 1025), new string('x', 6000), "-2147483649", "2147483648", "99999999999999999999"])
            .ToArray();
        foreach (var key in keys.Concat(reserved).Concat(["colour", "' or 1=1 --", "name[$ne]", "created_at", "sort_key[]"]))
        {
            foreach (var value in Sample(values, key is "name" or "sort_key" or "marker" or "fields" ? 40 : 10).Concat(key == "name" ? ["%00", "\0"] : []).Distinct())
            {
                var query = $"{Uri.EscapeDataString(key)}={Escape(value)}";
                yield return Case(endpoint, "GET", $"{path}?{query}", null, HostileExpectation.ReadOnly, $"{Short(key)}={Short(value)}");
            }
        }
        // Combinations: several sort keys, mismatched directions, repeated parameters, a huge query.
        yield return Case(endpoint, "GET", $"{path}?sort_key=name&sort_key=id&sort_dir=asc", null, HostileExpectation.ReadOnly, "sort keys and dirs differ");
        yield return Case(endpoint, "GET", $"{path}?sort_key=name;drop&sort_dir=desc", null, HostileExpectation.ReadOnly, "sort key with ;");
        yield return Case(endpoint, "GET", $"{path}?" + string.Join("&", Enumerable.Repeat("name=a", 500)), null, HostileExpectation.ReadOnly, "500 repeated filters");
        yield return Case(endpoint, "GET", $"{path}?" + string.Join("&", Enumerable.Range(0, 200).Select(i => $"sort_key=name&sort_dir=asc")), null,
            HostileExpectation.ReadOnly, "200 sort keys");
        yield return Case(endpoint, "GET", $"{path}?fields=" + string.Join(",", Enumerable.Repeat("id", 1000)), null, HostileExpectation.ReadOnly, "1000 fields");
        yield return Case(endpoint, "GET", $"{path}?limit=1&marker={targets.Foreign[collection]}", null, HostileExpectation.ReadOnly, "foreign marker");
        yield return Case(endpoint, "GET", $"{path}?name=%FF%FE&id=%C0%AF", null, HostileExpectation.ReadOnly, "invalid UTF-8 in the query");
        yield return Case(endpoint, "GET", $"{path}?%FF=1", null, HostileExpectation.ReadOnly, "invalid UTF-8 key");
        yield return Case(endpoint, "GET", $"{path}?name", null, HostileExpectation.ReadOnly, "key without value");
        yield return Case(endpoint, "GET", $"{path}?=x", null, HostileExpectation.ReadOnly, "value without key");
        yield return Case(endpoint, "GET", $"{path}?&&&;;", null, HostileExpectation.ReadOnly, "empty pairs");
        yield return Case(endpoint, "GET", $"{path}?name=" + new string('q', 7000), null, HostileExpectation.ReadOnly, "7000-character filter");
        if (collection == "ports")
        {
            foreach (var f in new[] { "ip_address", "subnet_id", "ip_address_substr", "colour", "" })
            {
                foreach (var v in Sample(HostileValues.InvalidIps.Concat(HostileValues.Metacharacters), 10))
                {
                    yield return Case(endpoint, "GET", $"{path}?fixed_ips={Uri.EscapeDataString($"{f}={v}")}", null, HostileExpectation.ReadOnly,
                        $"fixed_ips={f}={Short(v)}");
                }
            }
        }
    }

    // ---------------------------------------------------------------- router interfaces

    public IEnumerable<HostileCase> RouterInterfaces()
    {
        var router = targets.Clean["routers"];
        var foreignSubnet = targets.Foreign["subnets"];
        var foreignPort = targets.Foreign["ports"];
        foreach (var action in new[] { "add_router_interface", "remove_router_interface" })
        {
            var endpoint = $"routers.{action}";
            var path = $"/v2.0/routers/{router}/{action}";
            HostileCase Reject(string body, string why, string? contentType = "application/json", string? at = null) =>
                Case(endpoint, "PUT", at ?? path, Body(body), HostileExpectation.Rejected, why, contentType);

            foreach (var (body, why) in new[]
            {
                ("", "empty"), ("{", "broken"), ("[]", "list"), ("null", "null"), ("{}", "neither subnet nor port"),
                ($"{{\"subnet_id\":\"{foreignSubnet}\",\"port_id\":\"{foreignPort}\"}}", "both"),
                ($"{{\"subnet_id\":\"{foreignSubnet}\"}}", "another project's subnet"), ($"{{\"port_id\":\"{foreignPort}\"}}", "another project's port"),
                ($"{{\"subnet_id\":\"{MissingId()}\"}}", "missing subnet"), ($"{{\"port_id\":\"{MissingId()}\"}}", "missing port"),
                ($"{{\"subnet_id\":\"{foreignSubnet}\",\"subnet_id\":\"{foreignSubnet}\"}}", "duplicate key"),
                ($"{{\"subnet_id\":\"{foreignSubnet}\",\"colour\":1}}", "unknown key"),
                ($"{{\"router_interface\":{{\"subnet_id\":\"{foreignSubnet}\"}}}}", "enveloped"),
                (HostileValues.Nested(10_000, objects: true), "10,000 nested objects"),
                ($"{{\"subnet_id\":{HostileValues.Nested(10_000, objects: false)}}}", "subnet_id nested 10,000 deep"),
            })
            {
                yield return Reject(body, why);
            }
            foreach (var key in new[] { "subnet_id", "port_id" })
            {
                foreach (var bad in HostileValues.InvalidUuids.Select(HostileValues.Json).Concat(HostileValues.NotStrings).Append("null"))
                {
                    yield return Reject($"{{\"{key}\":{bad}}}", $"{key}={Short(bad)}");
                }
                foreach (var meta in Sample(HostileValues.Metacharacters, 15))
                {
                    yield return Reject($"{{\"{key}\":{HostileValues.Json(meta)}}}", $"{key}={Short(meta)}");
                }
            }
            foreach (var bad in HostileValues.InvalidUtf8)
            {
                var bytes = HostileValues.Utf8($"{{\"subnet_id\":\"{foreignSubnet}\"}}");
                yield return Case(endpoint, "PUT", path, [.. bytes[..15], .. bad, .. bytes[15..]], HostileExpectation.Rejected,
                    $"invalid UTF-8 {Convert.ToHexString(bad)}", "application/json");
            }
            foreach (var contentType in HostileValues.WrongContentTypes)
            {
                yield return Reject($"{{\"subnet_id\":\"{foreignSubnet}\"}}", $"content type '{contentType ?? "none"}'", contentType ?? HostileCase.NoContentType);
            }
            yield return Case(endpoint, "PUT", path, Oversized("subnet_id"), HostileExpectation.Rejected, "oversized body (413)") with { ExactStatus = 413 };
            foreach (var id in HostileIds(targets.Foreign["routers"]))
            {
                yield return Reject($"{{\"subnet_id\":\"{foreignSubnet}\"}}", "hostile router id", at: $"/v2.0/routers/{id}/{action}");
            }
            foreach (var method in new[] { "GET", "POST", "DELETE", "PATCH" })
            {
                yield return Case(endpoint, method, path, Body("{}"), HostileExpectation.Rejected, $"{method} instead of PUT", "application/json");
            }
        }
    }

    // ---------------------------------------------------------------- tags

    public IEnumerable<HostileCase> Tags(string collection)
    {
        var clean = targets.Clean[collection];
        var scratch = targets.Scratch[collection];
        var foreign = targets.Foreign[collection];
        var endpoint = $"{collection}.tags";
        var tags = $"/v2.0/{collection}/{clean}/tags";

        foreach (var (body, why) in new[]
        {
            ("", "empty"), ("{", "broken"), ("[]", "a bare list"), ("{}", "no tags key"), ("{\"tags\":\"x\"}", "tags a string"),
            ("{\"tags\":{}}", "tags an object"), ("{\"tags\":[1]}", "a number tag"), ("{\"tags\":[null]}", "a null tag"), ("{\"tags\":[[]]}", "a list tag"),
            ("{\"tags\":[\"a\"],\"tags\":[\"b\"]}", "duplicate key"), ("{\"tags\":[\"a\"],\"colour\":1}", "unknown key"),
            ($"{{\"tags\":[\"{new string('t', 256)}\"]}}", "a 256-character tag"), ("{\"tags\":[\"nul\\u0000\"]}", "a NUL tag"),
            ("{\"tags\":[" + string.Join(",", Enumerable.Range(0, 10_000).Select(i => $"\"t{i}\"")) + "]}", "10,000 tags"),
            ($"{{\"tags\":{HostileValues.Nested(10_000, objects: false)}}}", "tags nested 10,000 deep"),
        })
        {
            yield return Case($"{endpoint}.replace", "PUT", tags, Body(body), HostileExpectation.Rejected, why, "application/json");
        }
        foreach (var bad in HostileValues.InvalidUtf8)
        {
            var bytes = HostileValues.Utf8("{\"tags\":[\"abcdef\"]}");
            yield return Case($"{endpoint}.replace", "PUT", tags, [.. bytes[..13], .. bad, .. bytes[13..]], HostileExpectation.Rejected,
                $"invalid UTF-8 {Convert.ToHexString(bad)}", "application/json");
        }
        foreach (var contentType in HostileValues.WrongContentTypes)
        {
            yield return Case($"{endpoint}.replace", "PUT", tags, Body("{\"tags\":[\"a\"]}"), HostileExpectation.Rejected, $"content type '{contentType ?? "none"}'", contentType ?? HostileCase.NoContentType);
        }
        yield return Case($"{endpoint}.replace", "PUT", tags, Oversized("tags"), HostileExpectation.Rejected, "oversized body (413)") with { ExactStatus = 413 };

        foreach (var meta in HostileValues.Metacharacters.Concat(HostileValues.Unstorable))
        {
            var expectation = meta.Contains('\0', StringComparison.Ordinal) || meta.Length == 0 ? HostileExpectation.Rejected : HostileExpectation.MayWrite;
            yield return Case($"{endpoint}.replace", "PUT", $"/v2.0/{collection}/{scratch}/tags", Body($"{{\"tags\":[{HostileValues.Json(meta)}]}}"),
                HostileExpectation.MayWrite, $"tag {Short(meta)}", "application/json");
            var segment = Uri.EscapeDataString(meta);
            // A NUL in the path is refused by Kestrel before the app (TransportLimitTests).
            if (segment.Length == 0 || meta.Trim('.', '/').Length == 0 || meta.Contains('\0', StringComparison.Ordinal))
            {
                continue;
            }
            yield return Case($"{endpoint}.add", "PUT", $"/v2.0/{collection}/{scratch}/tags/{segment}", null, expectation, $"tag {Short(meta)}");
            yield return Case($"{endpoint}.check", "GET", $"/v2.0/{collection}/{clean}/tags/{segment}", null, HostileExpectation.ReadOnly, $"tag {Short(meta)}");
            yield return Case($"{endpoint}.remove", "DELETE", $"{tags}/{segment}", null, HostileExpectation.Rejected, $"absent tag {Short(meta)}");
        }
        yield return Case($"{endpoint}.add", "PUT", $"{tags}/{new string('t', 256)}", null, HostileExpectation.Rejected, "a 256-character tag");
        yield return Case($"{endpoint}.add", "PUT", $"{tags}/{new string('t', 6000)}", null, HostileExpectation.Rejected, "a 6000-character tag");
        yield return Case($"{endpoint}.add", "PUT", $"{tags}/%FF%FE", null, HostileExpectation.MayWrite, "invalid UTF-8 tag");
        foreach (var id in HostileIds(foreign))
        {
            var at = $"/v2.0/{collection}/{id}/tags";
            yield return Case($"{endpoint}.list", "GET", at, null, HostileExpectation.ReadOnly, "hostile id");
            yield return Case($"{endpoint}.replace", "PUT", at, Body("{\"tags\":[\"a\"]}"), HostileExpectation.Rejected, "hostile id", "application/json");
            yield return Case($"{endpoint}.remove_all", "DELETE", at, null, HostileExpectation.Rejected, "hostile id");
            yield return Case($"{endpoint}.add", "PUT", $"{at}/x", null, HostileExpectation.Rejected, "hostile id");
            yield return Case($"{endpoint}.check", "GET", $"{at}/x", null, HostileExpectation.ReadOnly, "hostile id");
            yield return Case($"{endpoint}.remove", "DELETE", $"{at}/x", null, HostileExpectation.Rejected, "hostile id");
        }
        foreach (var other in new[] { "network", "Networks", "security-groups", "networks%2F..", "' or 1=1" })
        {
            yield return Case($"{endpoint}.list", "GET", $"/v2.0/{Uri.EscapeDataString(other)}/{clean}/tags", null, HostileExpectation.ReadOnly, $"collection {other}");
        }
    }

    // ---------------------------------------------------------------- operator API

    public IEnumerable<HostileCase> Operator()
    {
        var values = HostileValues.Metacharacters.Concat(HostileValues.InvalidUuids.Take(6))
            .Concat(["-1", "0", "2147483647", "-2147483648", "2147483648", "9223372036854775807", "1e309", "1.5", "%00", new string('z', 5000)])
            .ToArray();
        foreach (var key in new[] { "state", "resource_id", "older_than_seconds", "limit", "colour" })
        {
            foreach (var v in values)
            {
                yield return OperatorCase("admin.outbox.list", "GET", $"/admin/v1/outbox?{key}={Escape(v)}", null, HostileExpectation.ReadOnly, $"{key}={Short(v)}");
            }
        }
        yield return OperatorCase("admin.outbox.list", "GET", "/admin/v1/outbox?limit=1&limit=2", null, HostileExpectation.ReadOnly, "repeated limit");
        foreach (var v in values)
        {
            yield return OperatorCase("admin.leases", "GET", $"/admin/v1/leases?holder={Escape(v)}", null, HostileExpectation.ReadOnly, $"holder={Short(v)}");
            yield return OperatorCase("admin.audit", "GET", $"/admin/v1/audit?limit={Escape(v)}", null, HostileExpectation.ReadOnly, $"limit={Short(v)}");
        }
        foreach (var path in new[] { "/admin/v1/workers", "/admin/v1/reconciliations/latest" })
        {
            foreach (var v in Sample(values, 10))
            {
                yield return OperatorCase(path.Replace("/admin/v1/", "admin.", StringComparison.Ordinal), "GET", $"{path}?x={Escape(v)}", null,
                    HostileExpectation.ReadOnly, Short(v));
            }
        }
        // No seq below exists, so retry and discard are 404 (or 400), never a change.
        var seqs = new[] { "0", "-1", "9223372036854775807", "9223372036854775808", "1e3", "1.5", "0x10", "abc", "1%FF", "1'%20or%20'1'='1", new string('9', 5000) };
        foreach (var action in new[] { "retry", "discard" })
        {
            foreach (var seq in seqs)
            {
                yield return OperatorCase($"admin.outbox.{action}", "POST", $"/admin/v1/outbox/{seq}/{action}", null, HostileExpectation.Rejected, $"seq {Short(seq)}");
                yield return OperatorCase($"admin.outbox.{action}", "POST", $"/admin/v1/outbox/{seq}/{action}", Body("{\"x\":"), HostileExpectation.Rejected,
                    $"seq {Short(seq)} with a broken body", "application/json");
            }
            yield return OperatorCase($"admin.outbox.{action}", "POST", $"/admin/v1/outbox/999999999/{action}", Oversized("x"), HostileExpectation.Rejected, "oversized body");
            yield return OperatorCase($"admin.outbox.{action}", "GET", $"/admin/v1/outbox/1/{action}", null, HostileExpectation.Rejected, "GET instead of POST");
        }
        var types = new[] { "network", "networks", "subnet", "port", "router", "Network", "widget", "' or 1=1 --", "..", new string('t', 3000) };
        foreach (var type in types)
        {
            foreach (var id in new[] { MissingId().ToString(), targets.Foreign["networks"], "not-a-uuid", "%FF", "' or 1=1" })
            {
                var segment = type is ".." ? type : Uri.EscapeDataString(type);
                yield return OperatorCase("admin.resources.resync", "POST", $"/admin/v1/resources/{segment}/{(id is "%FF" ? id : Uri.EscapeDataString(id))}/resync",
                    null, HostileExpectation.Rejected, $"type {Short(type)} id {Short(id)}");
            }
        }
        // A reconciliation request ignores its body: hostile ones may be recorded, never a 5xx.
        foreach (var body in new[] { "{", "[]", HostileValues.Nested(10_000, objects: true), "\u0000" })
        {
            yield return OperatorCase("admin.reconciliations", "POST", "/admin/v1/reconciliations", Body(body), HostileExpectation.MayWrite, "hostile body", "application/json");
        }
        yield return OperatorCase("admin.reconciliations", "POST", "/admin/v1/reconciliations", Oversized("x"), HostileExpectation.MayWrite, "oversized body");
        foreach (var method in new[] { "PUT", "DELETE", "PATCH" })
        {
            yield return OperatorCase("admin.reconciliations", method, "/admin/v1/reconciliations", Body("{}"), HostileExpectation.Rejected, $"{method}", "application/json");
            yield return OperatorCase("admin.outbox.list", method, "/admin/v1/outbox", Body("{}"), HostileExpectation.Rejected, $"{method}", "application/json");
        }
    }

    private static HostileCase OperatorCase(string endpoint, string method, string path, byte[]? body, HostileExpectation expect, string why, string? contentType = null) =>
        new(endpoint, method, path, body, contentType, expect, why, Admin);

    // ---------------------------------------------------------------- versions and unknown routes

    public IEnumerable<HostileCase> Versions()
    {
        foreach (var path in new[] { "/", "/v2.0", "/v2.0/", "/v2.0/extensions", "/v2.0/extensions/" })
        {
            foreach (var v in Sample(HostileValues.Metacharacters, 12))
            {
                yield return Case($"versions {path}", "GET", $"{path}?fields={Escape(v)}", null, HostileExpectation.ReadOnly, Short(v));
            }
            foreach (var (header, value) in new[]
            {
                ("Accept", "application/xml"), ("Accept", "*/*;q=abc"), ("Accept-Language", "'; drop"), ("X-Forwarded-Host", "evil.example"),
                ("X-Forwarded-Proto", "gopher"), ("Host", "evil.example"), ("X-Auth-Token", new string('t', 8000)), ("X-Auth-Token", "' or 1=1 --"),
            })
            {
                yield return Case($"versions {path}", "GET", path, null, HostileExpectation.ReadOnly, $"{header}: {Short(value)}",
                    headers: [new(header, value)]);
            }
            foreach (var method in new[] { "POST", "PUT", "DELETE", "PATCH" })
            {
                yield return Case($"versions {path}", method, path, Body("{\"x\":1}"), HostileExpectation.Rejected, method, "application/json");
            }
        }
        foreach (var alias in Sample(HostileValues.Metacharacters.Where(m => m.Trim('.', '/').Length > 0), 25).Append(new string('e', 5000)))
        {
            yield return Case("versions /v2.0/extensions/{alias}", "GET", $"/v2.0/extensions/{Uri.EscapeDataString(alias)}", null, HostileExpectation.ReadOnly, Short(alias));
        }
        foreach (var path in new[] { "/v2", "/v3.0/networks", "/v2.0/widgets", "/v2.0/networks.json", "/v2.0//networks", "/v2.0/networks/x/y/z",
                     "/%2e%2e/%2e%2e/etc/passwd", "/v2.0/" + new string('p', 7000), "/admin/v2/outbox", "/admin/v1/" })
        {
            yield return Case("unknown routes", "GET", path, null, HostileExpectation.ReadOnly, Short(path));
            yield return Case("unknown routes", "POST", path, Body("{}"), HostileExpectation.Rejected, Short(path), "application/json");
        }
    }

    // ---------------------------------------------------------------- helpers

    private static HostileCase Case(string endpoint, string method, string path, byte[]? body, HostileExpectation expect, string why,
        string? contentType = null, IReadOnlyList<KeyValuePair<string, string>>? headers = null, Func<ApiResponse, string?>? verify = null) =>
        new(endpoint, method, path, body, body is null ? null : contentType ?? "application/json", expect, why, P1, headers, verify);

    private static byte[] Body(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Oversized(string singular, int mebibytes = 1) =>
        Encoding.UTF8.GetBytes($"{{\"{singular}\":{{\"name\":\"{new string('a', mebibytes == 1 ? OversizedBytes : mebibytes * 1024 * 1024)}\"}}}}");

    /// <summary>Percent-encodes a query value; raw <c>%..</c> sequences (NUL, invalid UTF-8) pass through as written.</summary>
    private static string Escape(string v) => v is "%00" or "%ED%A0%80" ? v : Uri.EscapeDataString(v);

    private static string Short(string s)
    {
        var t = s.Replace("\0", "\\0", StringComparison.Ordinal);
        return t.Length > 72 ? t[..72] + $"…({s.Length})" : t;
    }

    /// <summary>A random (seeded) id that no resource has.</summary>
    private string MissingId()
    {
        var bytes = new byte[16];
        _rng.NextBytes(bytes);
        return new Guid(bytes).ToString();
    }

    private IEnumerable<T> Sample<T>(IEnumerable<T> source, int count)
    {
        var all = source.ToList();
        if (all.Count <= count)
        {
            return all;
        }
        return all.OrderBy(_ => _rng.Next()).Take(count).ToList();
    }
}
