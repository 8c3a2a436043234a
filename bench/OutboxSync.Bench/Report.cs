using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace OutboxSync.Bench;

/// <summary>The results as markdown tables (printed at the end, written to results.md, pasted into BENCHMARKS.md).</summary>
public static class Report
{
    private static string F(JsonNode? n, string fmt = "0.##") =>
        n is null ? "–" : n.GetValueKind() == System.Text.Json.JsonValueKind.Number ? n.GetValue<double>().ToString(fmt, CultureInfo.InvariantCulture) : n.ToString();

    public static string Markdown(BenchOptions o, JsonObject root)
    {
        var sc = root["scenarios"]!.AsObject();
        var sb = new StringBuilder();
        var designs = o.Designs;
        var m = root["machine"]!;
        sb.AppendLine($"Mode {root["mode"]}, {m["nproc"]} cores, {m["memory_gib"]} GiB, PostgreSQL {m["postgresql"]}, .NET {m["dotnet"]}, started {root["started_at"]}; load average at start {m["loadavg_at_start"]}, at finish {m["loadavg_at_finish"]} (shared machine).");
        sb.AppendLine();

        sb.AppendLine($"**S1 accept latency** (device call {o.S1LatencyMs} ms, {o.S1Duration.TotalSeconds:0} s of create/update churn per run, client timeout {o.ClientTimeout.TotalSeconds:0} s)");
        sb.AppendLine();
        sb.AppendLine("| design | clients | p50 ms | p99 ms | max ms | req/s | errors |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var d in designs)
            foreach (var c in o.S1Clients)
            {
                var l = sc["S1"]?[d]?[c.ToString()]?["load"];
                if (l is null) continue;
                sb.AppendLine($"| {d} | {c} | {F(l["p50_ms"])} | {F(l["p99_ms"])} | {F(l["max_ms"])} | {F(l["requests_per_second"], "0.0")} | {F(l["errors"])} |");
            }

        sb.AppendLine();
        sb.AppendLine($"**S2 drain throughput** ({o.S2Resources * o.S2OpsPerResource} ops on {o.S2Resources} ports, device {o.S2LatencyMs} ms, in-flight limit {o.InFlight}/replica; ideal = limit × replicas ÷ latency; synchronous designs: {o.LoadClients} clients for {o.SyncDuration.TotalSeconds:0} s)");
        sb.AppendLine();
        sb.AppendLine("| design | replicas | ops/s | device calls/s | ideal/s | calls ÷ ideal | ops ÷ ideal | drain s |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var d in designs)
        {
            var s2 = sc["S2"]?[d];
            if (s2 is null) continue;
            if (s2["synchronous"] is not null)
            {
                sb.AppendLine($"| {d} | (in request) | {F(s2["ops_per_second"], "0.0")} | – | – | – | – | – |");
                continue;
            }
            foreach (var (k, v) in s2.AsObject())
                sb.AppendLine($"| {d} | {k} | {F(v!["ops_per_second"], "0.0")} | {F(v["device_calls_per_second"], "0.0")} | {F(v["ideal_per_second"], "0")} | {F(v["fraction_of_ideal_calls"], "0.00")} | {F(v["fraction_of_ideal_ops"], "0.00")} | {F(v["seconds"], "0.0")} |");
        }

        sb.AppendLine();
        sb.AppendLine("**S3, S4, S6, S7, S8** (per design where it applies)");
        sb.AppendLine();
        sb.AppendLine("| design | S3 e2e ops/s | S3 pgbench tps | S3 ratio | S4 notify p50/p99 ms | S4 polling p50/p99 ms | S4 accept req/s chosen / NOTIFY-in-tx (ratio) | S6 longest tx s | S6 ÷ latency | S6 Quartz tx s | S7 violations | S8 ops/s by finished entries | S8 spread |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
        foreach (var d in designs)
        {
            var s3 = sc["S3"]?[d];
            var s4 = sc["S4"]?[d];
            var s6 = sc["S6"]?[d];
            var s7 = sc["S7"]?[d];
            var s8 = sc["S8"]?[d];
            var s8txt = s8 is null ? "–" : string.Join(" / ", s8["sizes"]!.AsObject().Select(kv => $"{long.Parse(kv.Key):N0}: {F(kv.Value!["rate"], "0")}"));
            var violations = s7 is null ? "–" : $"{s7["total"]}" + (s7["total"]!.GetValue<long>() > 0 ? " (" + string.Join(", ", s7["counters"]!.AsObject().Where(kv => kv.Value!.GetValue<long>() > 0).Select(kv => $"{kv.Key} {kv.Value}")) + ")" : "");
            sb.AppendLine($"| {d} | {F(s3?["end_to_end"]?["ops_per_second"], "0.0")} | {F(s3?["pgbench_insert_tps"], "0")} | {F(s3?["ratio"], "0.000")} | " +
                          $"{F(s4?["notify"]?["p50_ms"])} / {F(s4?["notify"]?["p99_ms"])} | {F(s4?["polling"]?["p50_ms"])} / {F(s4?["polling"]?["p99_ms"])} | " +
                          $"{F(s4?["accept_chosen"]?["requests_per_second"], "0")} / {F(s4?["accept_notify_in_tx"]?["requests_per_second"], "0")} ({F(s4?["accept_ratio_chosen_to_notify_in_tx"], "0.00")}) | " +
                          $"{F(s6?["longest_transaction_s"], "0.000")} | {F(s6?["ratio_to_device_latency"], "0.000")} | {F(s6?["scheduler_longest_transaction_s"], "0.000")} | {violations} | {s8txt} | {F(s8?["spread"], "0.000")} |");
        }

        sb.AppendLine();
        sb.AppendLine($"**S5 hot resource** ({o.S5Updates} concurrent updates of one port, device {o.S5LatencyMs} ms)");
        sb.AppendLine();
        sb.AppendLine("| design | accepted | errors | device update calls | last write wins | DB rev / device rev | API p50 ms | API p99 ms |");
        sb.AppendLine("|---|---:|---:|---:|---|---|---:|---:|");
        foreach (var d in designs)
        {
            var s5 = sc["S5"]?[d];
            if (s5 is null) continue;
            sb.AppendLine($"| {d} | {s5["accepted"]} | {s5["errors"]} | {s5["device_update_calls"]} | {s5["last_write_wins"]} | {s5["db_revision"]} / {F(s5["device_revision"])} | {F(s5["api"]!["p50_ms"])} | {F(s5["api"]!["p99_ms"])} |");
        }

        if (sc["S10"] is JsonObject s10)
        {
            sb.AppendLine();
            sb.AppendLine("**S10 a holder killed, then a holder paused** (device 2 s; 20 ports each; the lock-table designs' second API process waits 3 s for a lock; OutboxSync: 2 workers, shipped 15 s leases)");
            sb.AppendLine();
            sb.AppendLine("| design | killed mid-call | paused mid-call | violations in S10 |");
            sb.AppendLine("|---|---|---|---|");
            foreach (var (d, r) in s10)
            {
                var v = r!["violations"]!.AsObject().Where(kv => kv.Value!.GetValue<long>() != 0).Select(kv => $"{kv.Key} {kv.Value}");
                sb.AppendLine($"| {d} | {r["crash"]!.ToJsonString()} | {r["pause"]!.ToJsonString()} | {(v.Any() ? string.Join(", ", v) : "0")} |");
            }
        }

        sb.AppendLine();
        sb.AppendLine("**S9 footprint** (peak RSS of the front end and of the largest drain process; CPU seconds per 1,000 operations)");
        sb.AppendLine();
        sb.AppendLine("| design | phase | API peak MiB | API CPU s/1k ops | worker peak MiB | workers CPU s/1k ops |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|");
        foreach (var d in designs)
        {
            foreach (var c in o.S1Clients)
            {
                var f = sc["S1"]?[d]?[c.ToString()]?["footprint"];
                if (f is not null) sb.AppendLine($"| {d} | S1 {c} clients | {F(f["api_peak_rss_mib"], "0")} | {F(f["api_cpu_s_per_1000_ops"], "0.000")} | {F(f["worker_peak_rss_mib"], "0")} | {F(f["worker_cpu_s_per_1000_ops"], "0.000")} |");
            }
            var s2 = sc["S2"]?[d];
            if (s2 is null) continue;
            if (s2["synchronous"] is not null)
            {
                var f = s2["footprint"]!;
                sb.AppendLine($"| {d} | S2 | {F(f["api_peak_rss_mib"], "0")} | {F(f["api_cpu_s_per_1000_ops"], "0.000")} | – | – |");
                continue;
            }
            foreach (var (k, v) in s2.AsObject())
            {
                var f = v!["footprint"]!;
                sb.AppendLine($"| {d} | S2 {k} replica(s) | {F(f["api_peak_rss_mib"], "0")} | – | {F(f["worker_peak_rss_mib"], "0")} | {F(f["worker_cpu_s_per_1000_ops"], "0.000")} |");
            }
        }
        CostTable(sb, designs, sc);
        if (sc["errors"] is JsonObject errs)
        {
            sb.AppendLine();
            foreach (var (k, v) in errs) sb.AppendLine($"- {k} failed: {v?["error"]}");
        }
        return sb.ToString();
    }

    private static double? D(JsonNode? n) => n is not null && n.GetValueKind() == System.Text.Json.JsonValueKind.Number ? n.GetValue<double>() : null;
    private static string Met(bool? met) => met is null ? "–" : met.Value ? "yes" : "**no**";

    /// <summary>T1–T4: one row per ratio, the target beside it (OutboxSync only).</summary>
    private static void CostTable(StringBuilder sb, string[] designs, JsonObject sc)
    {
        if (!new[] { "T1", "T2", "T3", "T4", "T5" }.Any(t => sc[t] is JsonObject)) return;
        sb.AppendLine();
        sb.AppendLine("**Cost per operation (T1–T5)** (ratios within this run; CPU = utime + stime of the process over the measured window, after a warm-up of the same load; 64 closed-loop clients in a full run)");
        sb.AppendLine();
        sb.AppendLine("| design | scenario | measured | ratio / value | target | met |");
        sb.AppendLine("|---|---|---|---:|---|---|");
        foreach (var d in designs)
        {
            void Row(string scenario, string measured, double? value, string fmt, string target, bool? met) =>
                sb.AppendLine($"| {d} | {scenario} | {measured} | {(value is null ? "–" : value.Value.ToString(fmt, CultureInfo.InvariantCulture))} | {target} | {Met(met)} |");
            static string Load(JsonNode? w) => w is null ? "–" : $"{F(w["requests_per_second"], "0.0")} req/s (p50 {F(w["p50_ms"], "0.0")} / p99 {F(w["p99_ms"], "0.0")} ms, {F(w["errors"])} errors)";

            if (sc["T1"]?[d] is { } t1)
            {
                var r = D(t1["ratio_create_to_pgbench"]);
                Row("T1 network creates ÷ pgbench of the accept transaction", $"{Load(t1["create"])} vs {F(t1["pgbench"]?["tps"], "0")} tps", r, "0.000", $"≥ {F(t1["target_ratio_create_to_pgbench"])}", r >= D(t1["target_ratio_create_to_pgbench"]));
                var c = D(t1["api_cpu_ms_per_create"]);
                Row("T1 API CPU per network create", $"{F(t1["create"]?["api_cpu_ms"], "0")} ms over {F(t1["create"]?["ok"])} creates", c, "0.000", $"≤ {F(t1["target_api_cpu_ms_per_create"])} ms", c <= D(t1["target_api_cpu_ms_per_create"]));
                var g = D(t1["api_cpu_ms_per_get"]);
                Row("T1 API CPU per GET of one network", Load(t1["get"]), g, "0.000", $"≤ {F(t1["target_api_cpu_ms_per_get"])} ms", g <= D(t1["target_api_cpu_ms_per_get"]));
            }
            if (sc["T2"]?[d] is { } t2)
            {
                var r = D(t2["ratio_empty_to_network_create"]);
                Row("T2 port creates (empty /16) ÷ network creates", $"{Load(t2["empty"])}, API CPU {F(t2["empty"]?["api_cpu_ms_per_request"], "0.000")} ms/request; network creates {F(t2["network_create_requests_per_second"], "0.0")} req/s ({t2["network_create_source"]})", r, "0.000", $"≥ {F(t2["target_ratio_to_network_create"])}", r >= D(t2["target_ratio_to_network_create"]));
                var f = D(t2["ratio_full_to_empty"]);
                var within = D(t2["target_full_to_empty_within"]) ?? 0.15;
                Row($"T2 port creates, {F(t2["full"]?["allocated_addresses"], "#,0")} addresses allocated ÷ empty", $"{Load(t2["full"])}, API CPU {F(t2["full"]?["api_cpu_ms_per_request"], "0.000")} ms/request", f, "0.000", $"1 ± {within:0.##}", f is null ? null : Math.Abs(f.Value - 1) <= within);
                if (t2["pgbench_port_create_tps"] is not null)
                {
                    Row("T2 database floor: pgbench of a port create ÷ pgbench of a network create (what bounds the ratio above)",
                        $"{F(t2["pgbench_port_create_tps"], "0")} tps ({t2["pgbench_script"]}) vs {F(t2["pgbench_network_create_tps"], "0")} tps (T1); port creates ÷ their pgbench {F(t2["ratio_empty_to_pgbench_port_create"], "0.000")}",
                        D(t2["ratio_pgbench_port_to_network_create"]), "0.000", "diagnostic", null);
                }
                var cr = D(t2["collisions_per_request"]);
                Row("T2 IPAM collisions ÷ requests", $"{F(t2["ip_collisions"])} ip_allocations_pkey violations (server log) in {F(t2["requests"])} requests", cr, "0.0000", $"≤ {F(t2["target_collisions_per_request"])}", cr <= D(t2["target_collisions_per_request"]));
            }
            if (sc["T3"]?[d] is { } t3)
            {
                var r = D(t3["ratio_draining_to_without_workers"]);
                Row("T3 network creates while 2 workers drain (device 1 s) ÷ without workers", $"{Load(t3["accept_while_draining"])} vs {Load(t3["accept_without_workers"])}; workers {F(t3["worker_cpu_ms_per_device_call_while_accepting"], "0.000")} CPU-ms per device call", r, "0.000", $"≥ {F(t3["target_ratio"])}", r >= D(t3["target_ratio"]));
                var l = t3["backlog_large"]; var s = t3["backlog_small"];
                var flat = D(t3["ratio_cpu_per_call_large_to_small"]);
                var within = D(t3["target_flat_within"]) ?? 0.2;
                var cap = D(t3["target_cpu_ms_per_device_call"]) ?? 1;
                var lm = D(l?["worker_cpu_ms_per_device_call"]); var sm = D(s?["worker_cpu_ms_per_device_call"]);
                Row($"T3 worker CPU-ms per device call, backlog {F(l?["backlog"], "#,0")} ÷ ~{F(s?["backlog"], "#,0")}",
                    $"{F(l?["worker_cpu_ms_per_device_call"], "0.000")} ms ({F(l?["device_calls_per_second"], "0.0")} calls/s) vs {F(s?["worker_cpu_ms_per_device_call"], "0.000")} ms ({F(s?["device_calls_per_second"], "0.0")} calls/s)",
                    flat, "0.000", $"1 ± {within:0.##}, each ≤ {cap:0.##} ms", flat is null ? null : Math.Abs(flat.Value - 1) <= within && lm <= cap && sm <= cap);
            }
            if (sc["T4"]?[d]?["rows"] is JsonObject t4)
            {
                foreach (var (_, v) in t4)
                {
                    var fr = D(v?["fraction_of_ideal"]);
                    // At 200 ms the target is one replica's; more replicas show where the machine's CPU caps the drain.
                    var diagnostic = D(v?["device_latency_ms"]) < 1000 && D(v?["replicas"]) > 1;
                    var m = v?["machine"];
                    var shares = m is null ? "" : $"; machine: PostgreSQL {F(m["postgres"]?["share_of_machine"], "0%")}, workers {F(m["workers"]?["share_of_machine"], "0%")}, simulator {F(m["simulator"]?["share_of_machine"], "0%")}, harness {F(m["harness"]?["share_of_machine"], "0%")}, other {F(m["other"]?["share_of_machine"], "0%")}, idle {F(m["idle_share"], "0%")}";
                    Row($"T4 {F(v?["replicas"])} replica(s), device {F(v?["device_latency_ms"])} ms: device calls/s ÷ ideal",
                        $"{F(v?["device_calls_per_second"], "0.0")} of {F(v?["ideal_per_second"], "0")} calls/s; workers {F(v?["worker_cpu_ms_per_device_call"], "0.000")} CPU-ms per call{(v?["saturated"]?.GetValue<bool>() == false ? "; ran out of work" : "")}{shares}",
                        fr, "0.000", diagnostic ? "diagnostic" : $"≥ {F(v?["target_fraction_of_ideal"])}", diagnostic ? null : fr >= D(v?["target_fraction_of_ideal"]));
                }
            }
            if (sc["T5"]?[d] is JsonObject t5)
            {
                Row($"T5 open loop, {F(t5["offered_per_second"], "0")} network creates/s offered (half of {F(t5["saturation_per_second"], "0")}), 2 workers draining: API p50 / p99 ms",
                    $"p50 {F(t5["p50_ms"], "0.0")} ms, p99 {F(t5["p99_ms"], "0.0")} ms, {F(t5["errors"])} errors, {F(t5["window"]?["device_calls"])} device calls",
                    D(t5["p99_ms"]), "0.0", "p50 < 10, p99 < 50, 0 errors", t5["met"]?.GetValue<bool>());
            }
        }
    }
}

/// <summary>SVG charts written directly (no native plotting dependencies): S1 latency distributions, S2 scaling.</summary>
public static class Charts
{
    private static readonly string[] Colors = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"];
    private static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    public static void Write(BenchOptions o, Results r)
    {
        foreach (var c in o.S1Clients) WriteS1(o, r, c);
        WriteS2(o, r);
    }

    private static void WriteS1(BenchOptions o, Results r, int clients)
    {
        string[] pcts = ["0", "10", "25", "50", "75", "90", "95", "99", "99.9", "100"];
        var series = o.Designs.Select(d => (d, r.Get("S1", d)?[clients.ToString()]?["load"]?["percentiles_ms"])).Where(x => x.Item2 is not null).ToList();
        if (series.Count == 0) return;
        const int w = 760, h = 420, left = 70, right = 170, top = 40, bottom = 50;
        var max = series.Max(s => pcts.Max(p => s.Item2![p]!.GetValue<double>()));
        var min = Math.Max(0.1, series.Min(s => pcts.Min(p => Math.Max(0.1, s.Item2![p]!.GetValue<double>()))));
        double lo = Math.Floor(Math.Log10(min)), hi = Math.Ceiling(Math.Log10(Math.Max(max, 1)));
        if (hi <= lo) hi = lo + 1;
        double X(int i) => left + i * (w - left - right) / (double)(pcts.Length - 1);
        double Y(double v) => top + (h - top - bottom) * (1 - (Math.Log10(Math.Max(v, 0.1)) - lo) / (hi - lo));
        var sb = new StringBuilder();
        sb.AppendLine($"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='12'>");
        sb.AppendLine("<rect width='100%' height='100%' fill='white'/>");
        sb.AppendLine($"<text x='{w / 2}' y='20' text-anchor='middle' font-size='14'>S1 accept latency, {clients} clients, device call {o.S1LatencyMs} ms (log scale)</text>");
        for (var e = lo; e <= hi; e++)
        {
            var y = Y(Math.Pow(10, e));
            sb.AppendLine($"<line x1='{left}' y1='{N(y)}' x2='{w - right}' y2='{N(y)}' stroke='#ddd'/><text x='{left - 6}' y='{N(y + 4)}' text-anchor='end'>{N(Math.Pow(10, e))} ms</text>");
        }
        for (var i = 0; i < pcts.Length; i++)
            sb.AppendLine($"<text x='{N(X(i))}' y='{h - bottom + 18}' text-anchor='middle'>p{pcts[i]}</text>");
        sb.AppendLine($"<text x='{(left + w - right) / 2}' y='{h - 10}' text-anchor='middle'>percentile of API responses</text>");
        for (var k = 0; k < series.Count; k++)
        {
            var (d, p) = series[k];
            var pts = string.Join(' ', pcts.Select((pc, i) => $"{N(X(i))},{N(Y(p![pc]!.GetValue<double>()))}"));
            sb.AppendLine($"<polyline fill='none' stroke='{Colors[k % Colors.Length]}' stroke-width='2' points='{pts}'/>");
            sb.AppendLine($"<rect x='{w - right + 15}' y='{top + k * 20}' width='12' height='12' fill='{Colors[k % Colors.Length]}'/><text x='{w - right + 32}' y='{top + k * 20 + 11}'>{d}</text>");
        }
        sb.AppendLine("</svg>");
        File.WriteAllText(Path.Combine(o.Out, $"s1-latency-{clients}.svg"), sb.ToString());
    }

    private static void WriteS2(BenchOptions o, Results r)
    {
        var series = o.Designs.Select(d => (d, r.Get("S2", d))).Where(x => x.Item2 is JsonObject j && j["synchronous"] is null).ToList();
        if (series.Count == 0) return;
        var reps = o.S2Replicas;
        const int w = 760, h = 420, left = 70, right = 190, top = 40, bottom = 50;
        var ideal = reps.Select(n => o.InFlight * n / (o.S2LatencyMs / 1000.0)).ToArray();
        var max = Math.Max(ideal.Max(), series.Max(s => s.Item2!.AsObject().Max(kv => Math.Max(kv.Value!["ops_per_second"]!.GetValue<double>(), kv.Value!["device_calls_per_second"]!.GetValue<double>())))) * 1.1;
        double X(int n) => left + (n - 1) * (w - left - right) / (double)Math.Max(1, reps.Max() - 1);
        double Y(double v) => top + (h - top - bottom) * (1 - v / max);
        var sb = new StringBuilder();
        sb.AppendLine($"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='12'>");
        sb.AppendLine("<rect width='100%' height='100%' fill='white'/>");
        sb.AppendLine($"<text x='{w / 2}' y='20' text-anchor='middle' font-size='14'>S2 drain throughput vs replicas, device call {o.S2LatencyMs} ms, in-flight {o.InFlight}/replica</text>");
        for (var i = 0; i <= 5; i++)
        {
            var v = max * i / 5;
            sb.AppendLine($"<line x1='{left}' y1='{N(Y(v))}' x2='{w - right}' y2='{N(Y(v))}' stroke='#ddd'/><text x='{left - 6}' y='{N(Y(v) + 4)}' text-anchor='end'>{N(Math.Round(v))}</text>");
        }
        foreach (var n in reps) sb.AppendLine($"<text x='{N(X(n))}' y='{h - bottom + 18}' text-anchor='middle'>{n}</text>");
        sb.AppendLine($"<text x='{(left + w - right) / 2}' y='{h - 10}' text-anchor='middle'>replicas</text>");
        var legend = 0;
        void Line(string label, string color, string dash, IEnumerable<(int n, double v)> pts)
        {
            sb.AppendLine($"<polyline fill='none' stroke='{color}' stroke-width='2' stroke-dasharray='{dash}' points='{string.Join(' ', pts.Select(p => $"{N(X(p.n))},{N(Y(p.v))}"))}'/>");
            sb.AppendLine($"<line x1='{w - right + 10}' y1='{top + legend * 20 + 6}' x2='{w - right + 30}' y2='{top + legend * 20 + 6}' stroke='{color}' stroke-width='2' stroke-dasharray='{dash}'/><text x='{w - right + 36}' y='{top + legend * 20 + 10}'>{label}</text>");
            legend++;
        }
        Line("ideal", "#999", "4 3", reps.Select((n, i) => (n, ideal[i])));
        for (var k = 0; k < series.Count; k++)
        {
            var (d, j) = series[k];
            var pts = j!.AsObject().Select(kv => (int.Parse(kv.Key), kv.Value!)).ToList();
            Line($"{d} ops/s", Colors[k % Colors.Length], "", pts.Select(p => (p.Item1, p.Item2["ops_per_second"]!.GetValue<double>())));
            Line($"{d} device calls/s", Colors[k % Colors.Length], "2 2", pts.Select(p => (p.Item1, p.Item2["device_calls_per_second"]!.GetValue<double>())));
        }
        sb.AppendLine("</svg>");
        File.WriteAllText(Path.Combine(o.Out, "s2-scaling.svg"), sb.ToString());
    }
}
