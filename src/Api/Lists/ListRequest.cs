using System.Globalization;
using Microsoft.Extensions.Primitives;
using OutboxSync.Api.Errors;
using OutboxSync.Resources;

namespace OutboxSync.Api.Lists;

/// <summary>A parsed list query: filters, tag filters, changed_since, fields, sorting and pagination.</summary>
public sealed class ListRequest
{
    private static readonly HashSet<string> Reserved =
    [
        "fields", "limit", "marker", "page_reverse", "sort_key", "sort_dir",
        "tags", "tags-any", "not-tags", "not-tags-any", "changed_since",
    ];

    public required IReadOnlyList<(FieldSpec Field, string[] Values)> Filters { get; init; }
    public IReadOnlyList<string>? TagsAll { get; init; }
    public IReadOnlyList<string>? TagsAny { get; init; }
    public IReadOnlyList<string>? NotTagsAll { get; init; }
    public IReadOnlyList<string>? NotTagsAny { get; init; }
    public DateTimeOffset? ChangedSince { get; init; }
    public IReadOnlyList<(string Key, string Value)> FixedIps { get; init; } = [];
    public HashSet<string>? Fields { get; init; }
    public required IReadOnlyList<(FieldSpec Field, bool Descending)> Sort { get; init; }
    public int? Limit { get; init; }
    public Guid? Marker { get; init; }
    public string? RawMarker { get; init; }
    public bool PageReverse { get; init; }

    public static ListRequest Parse(IQueryCollection query, ResourceType type, int maxLimit)
    {
        var fields = ResourceFields.For(type);
        var filters = new List<(FieldSpec, string[])>();
        var fixedIps = new List<(string, string)>();
        foreach (var (key, values) in query)
        {
            if (!Requests.Attributes.IsStorableText(key) || values.Any(v => v is not null && !Requests.Attributes.IsStorableText(v)))
            {
                throw NeutronException.BadRequest("Query parameters must be valid UTF-8 text without NUL characters.");
            }
            if (Reserved.Contains(key))
            {
                continue;
            }
            if (type == ResourceType.Port && key == "fixed_ips")
            {
                fixedIps.AddRange(values.Select(ParseFixedIpFilter));
                continue;
            }
            if (!fields.TryGetValue(key, out var spec) || spec.Kind == FieldKind.Timestamp)
            {
                throw NeutronException.BadRequest($"[{RequestBodyText(key)}] is invalid attribute for filtering");
            }
            var list = values.Where(v => v is not null).Select(v => v!).ToArray();
            foreach (var v in list)
            {
                ValidateFilterValue(spec, v);
            }
            filters.Add((spec, list));
        }

        var sortKeys = query["sort_key"];
        var sortDirs = query["sort_dir"];
        if (sortDirs.Count > 0 && sortDirs.Count != sortKeys.Count)
        {
            throw NeutronException.BadRequest("The number of sort_keys and sort_dirs must be same");
        }
        var sort = new List<(FieldSpec, bool)>();
        for (var i = 0; i < sortKeys.Count; i++)
        {
            var key = sortKeys[i] ?? "";
            if (!fields.TryGetValue(key, out var spec) || !spec.Sortable)
            {
                throw NeutronException.BadRequest($"{RequestBodyText(key)} is invalid attribute for sort_keys");
            }
            var dir = sortDirs.Count > 0 ? sortDirs[i] : "asc";
            if (dir is not ("asc" or "desc"))
            {
                throw NeutronException.BadRequest($"{RequestBodyText(dir ?? "")} is invalid value for sort_dirs, valid values are 'asc' and 'desc'");
            }
            sort.Add((spec, dir == "desc"));
        }

        int? limit = null;
        if (query.TryGetValue("limit", out var limitText))
        {
            if (!int.TryParse(limitText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var l))
            {
                throw NeutronException.BadRequest($"Limit must be an integer 0 or greater and not '{RequestBodyText(limitText.ToString())}'");
            }
            limit = l == 0 ? null : Math.Min(l, maxLimit);
        }

        Guid? marker = null;
        string? rawMarker = null;
        if (query.TryGetValue("marker", out var markerText))
        {
            rawMarker = markerText.ToString();
            marker = Guid.TryParse(rawMarker, out var m) ? m : Guid.Empty;
        }

        DateTimeOffset? changedSince = null;
        if (query.TryGetValue("changed_since", out var since))
        {
            if (!DateTimeOffset.TryParse(since.ToString(), CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var cs))
            {
                throw NeutronException.BadRequest($"Invalid input for changed_since. Reason: '{RequestBodyText(since.ToString())}' is not a valid timestamp.");
            }
            changedSince = cs;
        }

        var fieldSet = query["fields"].SelectMany(f => (f ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToHashSet(StringComparer.Ordinal);

        return new ListRequest
        {
            Filters = filters,
            TagsAll = Tags(query, "tags"),
            TagsAny = Tags(query, "tags-any"),
            NotTagsAll = Tags(query, "not-tags"),
            NotTagsAny = Tags(query, "not-tags-any"),
            ChangedSince = changedSince,
            FixedIps = fixedIps,
            Fields = fieldSet.Count > 0 ? fieldSet : null,
            Sort = sort,
            Limit = limit,
            Marker = marker,
            RawMarker = rawMarker,
            PageReverse = query.TryGetValue("page_reverse", out var pr) && bool.TryParse(pr.ToString(), out var r) && r,
        };
    }

    private static (string, string) ParseFixedIpFilter(string? value)
    {
        var text = value ?? "";
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        var key = eq > 0 ? text[..eq] : "";
        if (key is not ("ip_address" or "subnet_id" or "ip_address_substr"))
        {
            throw NeutronException.BadRequest($"Invalid fixed_ips filter '{RequestBodyText(text)}'; use ip_address=, subnet_id= or ip_address_substr=");
        }
        return (key, text[(eq + 1)..]);
    }

    private static void ValidateFilterValue(FieldSpec spec, string value)
    {
        var ok = spec.Kind switch
        {
            FieldKind.Bool => bool.TryParse(value, out _),
            FieldKind.Int => int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
            FieldKind.Long => long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
            FieldKind.UuidList => Guid.TryParseExact(value, "D", out _),
            _ => value.Length <= 1024,
        };
        if (!ok)
        {
            throw NeutronException.BadRequest($"Invalid input for {spec.Name}. Reason: '{RequestBodyText(value)}' is not a valid value.");
        }
    }

    private static IReadOnlyList<string>? Tags(IQueryCollection query, string key)
    {
        if (!query.TryGetValue(key, out StringValues values))
        {
            return null;
        }
        return values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)).ToList();
    }

    private static string RequestBodyText(string value) => Requests.RequestBody.Truncate(value);
}
