namespace OutboxSync.Simulator.Gateway;

/// <summary>
/// One collection of the inventory: lookup by id plus id order for marker paging. Not thread-safe; the
/// gateway lock guards it.
/// </summary>
internal sealed class ObjectTable
{
    private readonly Dictionary<string, StoredObject> byId = new(StringComparer.Ordinal);
    private readonly SortedSet<string> order = new(StringComparer.Ordinal);

    public int Count => byId.Count;

    public bool Contains(string id) => byId.ContainsKey(id);

    public bool TryGet(string id, out StoredObject stored) => byId.TryGetValue(id, out stored!);

    public void Put(StoredObject stored)
    {
        byId[stored.Id] = stored;
        order.Add(stored.Id);
    }

    public bool Remove(string id) => byId.Remove(id) && order.Remove(id);

    public void Clear()
    {
        byId.Clear();
        order.Clear();
    }

    /// <summary>Up to <paramref name="limit"/> objects with ids after <paramref name="marker"/>.</summary>
    public (List<StoredObject> Items, string? NextMarker) Page(string? marker, int limit)
    {
        var items = new List<StoredObject>(Math.Min(limit, byId.Count));
        var more = false;
        foreach (var id in IdsAfter(marker))
        {
            if (items.Count == limit)
            {
                more = true;
                break;
            }

            items.Add(byId[id]);
        }

        return (items, more ? items[^1].Id : null);
    }

    public IEnumerable<StoredObject> Where(Func<StoredObject, bool> predicate) => order.Select(id => byId[id]).Where(predicate);

    private IEnumerable<string> IdsAfter(string? marker)
    {
        if (marker is null || order.Count == 0)
        {
            return order;
        }

        var last = order.Max!;
        if (StringComparer.Ordinal.Compare(marker, last) >= 0)
        {
            return [];
        }

        // The view is inclusive and the marker need not exist; drop it if it does.
        return order.GetViewBetween(marker, last).Where(id => !string.Equals(id, marker, StringComparison.Ordinal));
    }
}
