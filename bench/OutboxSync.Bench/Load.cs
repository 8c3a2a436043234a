using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using HdrHistogram;

namespace OutboxSync.Bench;

/// <summary>Latencies of one load run (microseconds, HdrHistogram, 3 significant digits) plus counts.</summary>
public sealed class LoadResult
{
    public LongHistogram Histogram { get; } = new(1, 3_600_000_000L, 3);
    public long Ok { get; set; }
    public long Errors { get; set; }
    public double Seconds { get; set; }
    public Dictionary<string, long> ErrorKinds { get; } = [];
    public List<(string Id, DateTimeOffset RespondedAt)> Created { get; } = [];
    public double RequestsPerSecond => Seconds > 0 ? Ok / Seconds : 0;
    public double P(double pct) => Histogram.TotalCount == 0 ? 0 : Histogram.GetValueAtPercentile(pct) / 1000.0;
    public double MaxMs => Histogram.TotalCount == 0 ? 0 : Histogram.GetMaxValue() / 1000.0;

    public void Merge(LoadResult o)
    {
        Histogram.Add(o.Histogram);
        Ok += o.Ok;
        Errors += o.Errors;
        foreach (var (k, v) in o.ErrorKinds) ErrorKinds[k] = ErrorKinds.GetValueOrDefault(k) + v;
        Created.AddRange(o.Created);
    }

    public object Summary() => new
    {
        ok = Ok, errors = Errors, seconds = Math.Round(Seconds, 3), requests_per_second = Math.Round(RequestsPerSecond, 1),
        p50_ms = Math.Round(P(50), 2), p90_ms = Math.Round(P(90), 2), p99_ms = Math.Round(P(99), 2), max_ms = Math.Round(MaxMs, 2),
        error_kinds = ErrorKinds,
        percentiles_ms = new[] { 0.0, 10, 25, 50, 75, 90, 95, 99, 99.9, 100 }.ToDictionary(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture), p => Math.Round(p == 100 ? MaxMs : P(p), 2)),
    };
}

/// <summary>Closed-loop HTTP load: each client has its own HttpClient (one connection) and works through its own plan.</summary>
public static class Load
{
    /// <summary>
    /// Port churn for a fixed time: every client alternates create-a-port / update-its-last-port. Stops issuing at
    /// <paramref name="duration"/>; requests still running finish or hit the client timeout.
    /// </summary>
    public static Task<LoadResult> ChurnAsync(Stack s, string networkId, int clients, TimeSpan duration, TimeSpan timeout, bool createOnly, Progress progress) =>
        RunAsync(s, clients, timeout, progress, async (c, r, stop) =>
        {
            string? last = null;
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                if (createOnly || last is null || n % 2 == 0)
                {
                    last = await CreatePortAsync(c, r, networkId, $"churn-{n}") ?? last;
                }
                else
                {
                    await UpdatePortAsync(c, r, last, $"churn-{n}");
                }
                n++;
            }
        }, duration);

    /// <summary>A fixed batch: <paramref name="resources"/> ports, each created then updated (opsPerResource - 1) times, in order.</summary>
    public static Task<LoadResult> BatchAsync(Stack s, string networkId, int clients, int resources, int opsPerResource, TimeSpan timeout, Progress progress) =>
        RunAsync(s, clients, timeout, progress, async (c, r, _) =>
        {
            for (var i = r.ClientIndex; i < resources; i += clients)
            {
                var id = await CreatePortAsync(c, r, networkId, $"p{i}-0");
                if (id is null) continue;
                for (var k = 1; k < opsPerResource; k++) await UpdatePortAsync(c, r, id, $"p{i}-{k}");
            }
        }, null);

    /// <summary>One client, one create at a time with a gap: the wake-up path sees an idle system each time.</summary>
    public static Task<LoadResult> TrickleAsync(Stack s, string networkId, int count, TimeSpan gap, Progress progress) =>
        RunAsync(s, 1, TimeSpan.FromSeconds(30), progress, async (c, r, _) =>
        {
            for (var i = 0; i < count; i++)
            {
                await CreatePortAsync(c, r, networkId, $"wake-{i}");
                await Task.Delay(gap);
            }
        }, null);

    /// <summary>N concurrent updates of one port, released together once every client is ready to send.</summary>
    public static Task<LoadResult> HotAsync(Stack s, string portId, int updates, Progress progress)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = 0;
        return RunAsync(s, updates, TimeSpan.FromSeconds(120), progress, async (c, r, _) =>
        {
            if (Interlocked.Increment(ref arrived) == updates) gate.TrySetResult();
            // A client that never arrives must not hold the others forever; it would show as a missing request.
            await gate.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await UpdatePortAsync(c, r, portId, $"hot-{r.ClientIndex}");
        }, null);
    }

    /// <summary>
    /// The same request from every client, back to back, for a fixed time (T1–T4): responses are read but not parsed,
    /// so the harness's own CPU stays out of the way of the process being measured.
    /// </summary>
    public static Task<LoadResult> RepeatAsync(Stack s, int clients, TimeSpan duration, TimeSpan timeout, Progress progress,
        HttpMethod method, string path, object? body) =>
        RunAsync(s, clients, timeout, progress, async (c, r, stop) =>
        {
            while (!stop.IsCancellationRequested) await TimedAsync(c, r, method, path, body, parse: false);
        }, duration);

    /// <summary>
    /// Open loop: requests are sent at a constant <paramref name="rate"/> for <paramref name="duration"/>, whatever the
    /// server does, from a pool of <paramref name="connections"/> one-connection clients. Each latency is measured from
    /// the request's scheduled send time, so a server that falls behind shows it in full (no coordinated omission);
    /// a request that finds no free connection waits for one, and that wait counts too.
    /// </summary>
    public static async Task<LoadResult> OpenLoopAsync(Stack s, double rate, TimeSpan duration, int connections, TimeSpan timeout,
        Progress progress, HttpMethod method, string path, object? body)
    {
        var free = System.Threading.Channels.Channel.CreateUnbounded<HttpClient>();
        var http = Enumerable.Range(0, connections).Select(_ => s.NewClient(timeout)).ToList();
        foreach (var h in http) free.Writer.TryWrite(h);
        var state = new ClientState(0);
        var gate = new object();
        var inFlight = new List<Task>();
        var sw = Stopwatch.StartNew();
        var total = (long)(rate * duration.TotalSeconds);
        for (long i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate);
            var wait = due - sw.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1)) await Task.Delay(wait);
            var scheduled = Stopwatch.GetTimestamp() - (long)((sw.Elapsed - due).TotalSeconds * Stopwatch.Frequency);
            inFlight.Add(Task.Run(async () =>
            {
                var c = await free.Reader.ReadAsync();
                try
                {
                    using var req = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
                    using var resp = await c.SendAsync(req);
                    await resp.Content.ReadAsStringAsync();
                    var us = (long)Stopwatch.GetElapsedTime(scheduled).TotalMicroseconds;
                    lock (gate)
                    {
                        if (resp.IsSuccessStatusCode) { state.Result.Histogram.RecordValue(Math.Max(1, us)); state.Result.Ok++; }
                        else Fail(state, $"http {(int)resp.StatusCode}");
                    }
                }
                catch (TaskCanceledException) { lock (gate) Fail(state, "client timeout"); }
                catch (HttpRequestException e) { lock (gate) Fail(state, "transport: " + e.HttpRequestError); }
                finally { free.Writer.TryWrite(c); }
            }));
            if (i % (long)Math.Max(1, rate) == 0) progress.Report($"{s.Design}: open loop {rate:F0}/s, {i} sent, {state.Result.Ok} ok, {state.Result.Errors} errors");
        }
        await Task.WhenAll(inFlight);
        state.Result.Seconds = sw.Elapsed.TotalSeconds;
        foreach (var h in http) h.Dispose();
        return state.Result;
    }

    public sealed class ClientState(int index) : IDisposable
    {
        public int ClientIndex { get; } = index;
        public LoadResult Result { get; } = new();
        public void Dispose() { }
    }

    private static async Task<LoadResult> RunAsync(Stack s, int clients, TimeSpan timeout, Progress progress,
        Func<HttpClient, ClientState, CancellationToken, Task> plan, TimeSpan? duration)
    {
        using var stop = duration is { } d ? new CancellationTokenSource(d) : new CancellationTokenSource();
        var states = Enumerable.Range(0, clients).Select(i => new ClientState(i)).ToList();
        var http = states.Select(_ => s.NewClient(timeout)).ToList();
        var sw = Stopwatch.StartNew();
        var tasks = states.Select((st, i) => Task.Run(() => plan(http[i], st, stop.Token))).ToList();
        var all = Task.WhenAll(tasks);
        while (!all.IsCompleted)
        {
            await Task.WhenAny(all, Task.Delay(1000));
            progress.Report($"{s.Design}: {states.Sum(x => x.Result.Ok)} ok, {states.Sum(x => x.Result.Errors)} errors, {sw.Elapsed.TotalSeconds:F0}s");
        }
        await all;
        var total = new LoadResult { Seconds = sw.Elapsed.TotalSeconds };
        foreach (var st in states) total.Merge(st.Result);
        foreach (var h in http) h.Dispose();
        return total;
    }

    private static async Task<string?> CreatePortAsync(HttpClient c, ClientState st, string networkId, string name)
    {
        var body = await TimedAsync(c, st, HttpMethod.Post, "/v2.0/ports", new { port = new { network_id = networkId, name } });
        var id = body?["port"]?["id"]?.GetValue<string>();
        if (id is not null) st.Result.Created.Add((id, DateTimeOffset.UtcNow));
        return id;
    }

    private static Task UpdatePortAsync(HttpClient c, ClientState st, string id, string name) =>
        TimedAsync(c, st, HttpMethod.Put, $"/v2.0/ports/{id}", new { port = new { name } });

    private static async Task<JsonNode?> TimedAsync(HttpClient c, ClientState st, HttpMethod method, string path, object? body, bool parse = true)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            using var req = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            using var resp = await c.SendAsync(req);
            var text = await resp.Content.ReadAsStringAsync();
            var us = (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            if (resp.IsSuccessStatusCode)
            {
                st.Result.Histogram.RecordValue(Math.Max(1, us));
                st.Result.Ok++;
                return parse ? JsonNode.Parse(text) : null;
            }
            Fail(st, $"http {(int)resp.StatusCode} {(text.Length > 100 ? text[..100] : text)}");
        }
        catch (TaskCanceledException) { Fail(st, "client timeout"); }
        catch (HttpRequestException e) { Fail(st, "transport: " + e.HttpRequestError); }
        return null;
    }

    private static void Fail(ClientState st, string kind)
    {
        st.Result.Errors++;
        st.Result.ErrorKinds[kind] = st.Result.ErrorKinds.GetValueOrDefault(kind) + 1;
    }
}

/// <summary>Progress on one console line (rewritten in place on a terminal, throttled lines otherwise).</summary>
public sealed class Progress
{
    private DateTime _last = DateTime.MinValue;
    private string _prefix = "";
    public void Phase(string name)
    {
        _prefix = name;
        Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {name}");
    }
    public void Report(string s)
    {
        if (!Console.IsOutputRedirected)
        {
            Console.Write($"\r  {_prefix}: {s}".PadRight(110)[..110]);
            return;
        }
        if (DateTime.UtcNow - _last < TimeSpan.FromSeconds(5)) return;
        _last = DateTime.UtcNow;
        Console.WriteLine($"  {s}");
    }
    public void Done() { if (!Console.IsOutputRedirected) Console.WriteLine(); }
}
