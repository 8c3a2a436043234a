using System.Collections.Concurrent;
using Xunit.Abstractions;

namespace OutboxSync.Api.Tests.Hostile;

/// <summary>
/// Sends hostile cases through the real Kestrel pipeline with bounded concurrency and checks each response: never
/// a 5xx; every 4xx in Neutron's error shape as application/json; malformed cases rejected; and, per batch, the
/// database fingerprint unchanged by the cases that must not write.
/// </summary>
public sealed class HostileRunner(ApiFactory api, ITestOutputHelper output)
{
    /// <summary>Requests in flight at once: enough to exercise concurrency, few enough for a shared 2-core machine.</summary>
    public const int Concurrency = 4;

    /// <summary>Cases between two fingerprints; a changed fingerprint is then traced to its case one by one.</summary>
    public const int BatchSize = 250;

    private const int MaxReported = 40;

    private readonly ConcurrentDictionary<string, ApiClient> _clients = new();

    public async Task RunAsync(IEnumerable<HostileCase> generated)
    {
        var cases = generated.ToList();
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<(string Endpoint, int Status), int>();
        var accepted = new ConcurrentBag<HostileCase>();

        var noWrite = cases.Where(c => c.Expect != HostileExpectation.MayWrite).ToList();
        var changedBatches = 0;
        foreach (var batch in noWrite.Chunk(BatchSize))
        {
            var before = await FingerprintAsync();
            await SendAllAsync(batch, failures, statuses, accepted);
            if (await FingerprintAsync() != before)
            {
                failures.Enqueue($"[batch] a batch of {batch.Length} requests that must not write changed the database");
                // Replaying is slow; the first changed batches are enough to name the culprits.
                if (++changedBatches <= 2)
                {
                    await LocateWritersAsync(batch.Where(accepted.Contains), failures);
                }
            }
        }
        foreach (var batch in cases.Where(c => c.Expect == HostileExpectation.MayWrite).Chunk(BatchSize))
        {
            await SendAllAsync(batch, failures, statuses, accepted);
        }

        Report(cases, statuses);
        if (!failures.IsEmpty)
        {
            output.WriteLine($"{failures.Count} failures:");
            foreach (var failure in failures.Take(400))
            {
                output.WriteLine("  " + failure);
            }
        }
        // The message shows a few examples of each kind of failure, so one flood does not hide the others.
        var kinds = failures.GroupBy(Kind).Select(g => $"{g.Count()} × {g.Key}:\n    " + string.Join("\n    ", g.Take(3)));
        Assert.True(failures.IsEmpty, $"{failures.Count} of {cases.Count} hostile cases failed:\n" + string.Join("\n", kinds.Take(MaxReported)));
    }

    private async Task SendAllAsync(IReadOnlyList<HostileCase> batch, ConcurrentQueue<string> failures,
        ConcurrentDictionary<(string, int), int> statuses, ConcurrentBag<HostileCase> accepted)
    {
        await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (c, _) =>
        {
            var (response, error) = await SendAsync(c);
            statuses.AddOrUpdate((c.Endpoint, response is null ? 0 : (int)response.Status), 1, (_, n) => n + 1);
            if (response is { Status: < HttpStatusCode.BadRequest })
            {
                accepted.Add(c);
            }
            foreach (var failure in error is not null ? [error] : Check(c, response!))
            {
                failures.Enqueue($"{c}: {failure}");
            }
        });
    }

    public async Task<(ApiResponse? Response, string? Error)> SendAsync(HostileCase c)
    {
        HttpRequestMessage request;
        try
        {
            request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path);
        }
        catch (UriFormatException e)
        {
            return (null, $"the generator built a path the client cannot send: {e.Message}");
        }
        using (request)
        {
            if (c.Body is not null)
            {
                request.Content = new ByteArrayContent(c.Body);
                if (c.ContentType is not (null or HostileCase.NoContentType))
                {
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
                }
            }
            foreach (var (name, value) in c.Headers ?? [])
            {
                if (name == "Host")
                {
                    request.Headers.Host = value;
                }
                else
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }
            }
            // A large body waits for "100 Continue", so Kestrel's early 413 arrives before the client has sent it all.
            request.Headers.ExpectContinue = c.Body is { Length: > 512 * 1024 };
            try
            {
                return (await Client(c.Token).SendAsync(request), null);
            }
            catch (HttpRequestException e)
            {
                return (null, $"transport failure instead of a response: {e.Message}");
            }
            catch (TaskCanceledException)
            {
                return (null, "no response within the client timeout");
            }
        }
    }

    private static IEnumerable<string> Check(HostileCase c, ApiResponse r)
    {
        var status = (int)r.Status;
        if (status >= 500)
        {
            yield return $"{status}: {Short(r.Text)}";
            yield break;
        }
        if (c.ExactStatus is { } exact && status != exact)
        {
            yield return $"expected {exact} but got {status}: {Short(r.Text)}";
        }
        if (c.Expect == HostileExpectation.Rejected && status < 400)
        {
            yield return $"accepted with {status}: {Short(r.Text)}";
        }
        if (status >= 400)
        {
            if (r.ContentType != "application/json")
            {
                yield return $"{status} with content type '{r.ContentType}'";
            }
            string? shape = null;
            try
            {
                r.ExpectNeutronError(r.Status);
            }
            catch (Xunit.Sdk.XunitException e)
            {
                shape = e.Message;
            }
            if (shape is not null)
            {
                yield return $"{status} not in Neutron's error shape: {Short(shape)}";
            }
        }
        if (c.Verify?.Invoke(r) is { } verifyFailure)
        {
            yield return verifyFailure;
        }
    }

    /// <summary>Replays a batch's accepted cases one at a time to name the requests that changed the database.</summary>
    private async Task LocateWritersAsync(IEnumerable<HostileCase> batch, ConcurrentQueue<string> failures)
    {
        foreach (var c in batch)
        {
            var before = await FingerprintAsync();
            var (response, _) = await SendAsync(c);
            if (await FingerprintAsync() != before)
            {
                failures.Enqueue($"{c}: changed the database (status {(int?)response?.Status}: {Short(response?.Text ?? "")})");
            }
        }
    }

    /// <summary>The resource and outbox tables (DbProbe) plus the operator API's own tables.</summary>
    private async Task<string> FingerprintAsync()
    {
        var resources = await api.Db.FingerprintAsync();
        var operatorTables = await api.Db.ScalarAsync<string>(
            "select (select count(*) || ':' || coalesce(md5(string_agg(a::text, '|' order by a::text)), '-') from operator_audit a) || ';' || " +
            "(select count(*) || ':' || coalesce(md5(string_agg(r::text, '|' order by r::text)), '-') from reconciliation_runs r)");
        return resources + "; " + operatorTables;
    }

    private ApiClient Client(string? token) => _clients.GetOrAdd(token ?? "", t =>
    {
        var http = api.CreateClient();
        http.Timeout = TimeSpan.FromSeconds(60);
        return new ApiClient(http, t.Length == 0 ? null : t);
    });

    private void Report(List<HostileCase> cases, ConcurrentDictionary<(string Endpoint, int Status), int> statuses)
    {
        output.WriteLine($"{cases.Count} hostile cases (seed-deterministic), concurrency {Concurrency}:");
        foreach (var group in cases.GroupBy(c => c.Endpoint).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var histogram = statuses.Where(s => s.Key.Endpoint == group.Key).OrderBy(s => s.Key.Status)
                .Select(s => $"{(s.Key.Status == 0 ? "none" : s.Key.Status)}×{s.Value}");
            output.WriteLine($"  {group.Key,-42} {group.Count(),6} cases   {string.Join(" ", histogram)}");
        }
    }

    /// <summary>Endpoint plus the failure's first words with digits and ids blurred: one key per kind of failure.</summary>
    private static string Kind(string failure)
    {
        var endpoint = failure.StartsWith('[') ? failure[..(failure.IndexOf(']') + 1)] : "";
        var afterCase = failure.IndexOf("): ", StringComparison.Ordinal);
        var what = afterCase >= 0 ? failure[(afterCase + 3)..] : failure;
        var why = failure.Contains("invalid UTF-8", StringComparison.Ordinal) ? " (invalid UTF-8)" : "";
        return endpoint + " " + new string(what.Take(60).ToArray()) + why;
    }

    private static string Short(string s) => s.Length > 300 ? s[..300] + "…" : s;
}
