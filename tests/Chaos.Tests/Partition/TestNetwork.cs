using System.Diagnostics;
using System.Globalization;

namespace OutboxSync.Chaos.Tests.Partition;

/// <summary>One test host: a network namespace joined to the machine by a veth pair, with its own address.</summary>
public sealed record TestHost(string Name, string Namespace, string Address, string HostSideAddress);

/// <summary>
/// Hosts as Linux network namespaces, created by the run and removed when it ends (and, if a run was killed, by the
/// next one). Each host is a namespace with a veth pair to the machine's namespace: <c>10.N.i.2</c> inside,
/// <c>10.N.i.1</c> outside, default route out. PostgreSQL and the back end listen on two other addresses,
/// <see cref="DatabaseAddress"/> and <see cref="BackendAddress"/> (on the machine's loopback), so each path can be cut
/// on its own. Faults are nftables rules inside a host's namespace: drops (one-way or both ways) and random loss.
/// </summary>
public sealed class TestNetwork : IAsyncDisposable
{
    private const string Prefix = "osnet";
    private readonly int _net;
    private readonly List<TestHost> _hosts = [];

    private TestNetwork(int net)
    {
        _net = net;
        DatabaseAddress = $"10.{net}.250.1";
        BackendAddress = $"10.{net}.251.1";
    }

    public string DatabaseAddress { get; }
    public string BackendAddress { get; }

    /// <summary>Every address of the test network, for pg_hba.</summary>
    public string Cidr => $"10.{_net}.0.0/16";

    public IReadOnlyList<TestHost> Hosts => _hosts;

    /// <summary>Why namespaces cannot be used here (not root, no <c>ip</c> or <c>nft</c>, creation refused), or null.</summary>
    public static string? Unavailable()
    {
        if (Environment.UserName != "root")
        {
            return "network namespaces need root";
        }
        foreach (var tool in new[] { "ip", "nft" })
        {
            if (!new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }.Any(d => File.Exists(Path.Combine(d, tool))))
            {
                return $"'{tool}' is not installed (Debian: iproute2, nftables)";
            }
        }
        var probe = $"{Prefix}probe{Environment.ProcessId}";
        var (code, error) = Run("ip", "netns", "add", probe);
        Run("ip", "netns", "del", probe);
        return code == 0 ? null : $"cannot create a network namespace: {error}";
    }

    public static async Task<TestNetwork> CreateAsync(int hosts)
    {
        Sweep();
        // A /16 of its own per run, so two runs on one machine never share addresses.
        var network = new TestNetwork(200 + (Environment.ProcessId % 50));
        try
        {
            Must("ip", "addr", "replace", network.DatabaseAddress + "/32", "dev", "lo");
            Must("ip", "addr", "replace", network.BackendAddress + "/32", "dev", "lo");
            for (var i = 1; i <= hosts; i++)
            {
                network.AddHost(i);
            }
            await Task.CompletedTask;
            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    private void AddHost(int i)
    {
        var ns = $"{Prefix}{Environment.ProcessId}h{i}";
        var (outside, inside) = ($"osv{Environment.ProcessId % 100000}h{i}", $"osv{Environment.ProcessId % 100000}n{i}");
        var host = new TestHost($"host{i}", ns, $"10.{_net}.{i}.2", $"10.{_net}.{i}.1");
        Must("ip", "netns", "add", ns);
        _hosts.Add(host);
        Must("ip", "link", "add", outside, "type", "veth", "peer", "name", inside);
        Must("ip", "link", "set", inside, "netns", ns);
        Must("ip", "addr", "add", host.HostSideAddress + "/24", "dev", outside);
        Must("ip", "link", "set", outside, "up");
        Must("ip", "-n", ns, "addr", "add", host.Address + "/24", "dev", inside);
        Must("ip", "-n", ns, "link", "set", inside, "up");
        Must("ip", "-n", ns, "link", "set", "lo", "up");
        Must("ip", "-n", ns, "route", "add", "default", "via", host.HostSideAddress);
        // Fault rules live in this table: an output chain (what the host sends) and an input chain (what it receives).
        Must("ip", "netns", "exec", ns, "nft", "add", "table", "inet", "faults");
        Must("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "faults", "out", "{ type filter hook output priority 0; }");
        Must("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "faults", "in", "{ type filter hook input priority 0; }");
    }

    /// <summary>Drops what <paramref name="host"/> sends to <paramref name="address"/> and, unless
    /// <paramref name="oneWay"/>, what it receives from there: a silent cut, as a partition is.</summary>
    public void Cut(TestHost host, string address, bool oneWay = false)
    {
        Must("ip", "netns", "exec", host.Namespace, "nft", "add", "rule", "inet", "faults", "out", "ip", "daddr", address, "drop");
        if (!oneWay)
        {
            Must("ip", "netns", "exec", host.Namespace, "nft", "add", "rule", "inet", "faults", "in", "ip", "saddr", address, "drop");
        }
    }

    /// <summary>Drops a random <paramref name="percent"/> of the packets <paramref name="host"/> sends to <paramref name="address"/>.</summary>
    public void Loss(TestHost host, string address, int percent) =>
        Must("ip", "netns", "exec", host.Namespace, "nft", "add", "rule", "inet", "faults", "out", "ip", "daddr", address,
            "numgen", "random", "mod", "100", "<", percent.ToString(CultureInfo.InvariantCulture), "drop");

    /// <summary>Removes every fault rule of <paramref name="host"/>: the partition heals.</summary>
    public void Heal(TestHost host)
    {
        Must("ip", "netns", "exec", host.Namespace, "nft", "flush", "chain", "inet", "faults", "out");
        Must("ip", "netns", "exec", host.Namespace, "nft", "flush", "chain", "inet", "faults", "in");
    }

    /// <summary>Whether this kernel has netem (some VM kernels are built without it).</summary>
    public static bool HasNetem(TestHost host)
    {
        var inside = $"osv{Environment.ProcessId % 100000}n{host.Name["host".Length..]}";
        var (code, _) = Run("ip", "netns", "exec", host.Namespace, "tc", "qdisc", "add", "dev", inside, "root", "netem", "delay", "1ms");
        if (code == 0)
        {
            Run("ip", "netns", "exec", host.Namespace, "tc", "qdisc", "del", "dev", inside, "root");
        }
        return code == 0;
    }

    public ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            // Deleting the namespace deletes its veth end, and with it the pair.
            Run("ip", "netns", "del", host.Namespace);
        }
        Run("ip", "addr", "del", DatabaseAddress + "/32", "dev", "lo");
        Run("ip", "addr", "del", BackendAddress + "/32", "dev", "lo");
        return ValueTask.CompletedTask;
    }

    /// <summary>Namespaces of runs whose process is gone.</summary>
    private static void Sweep()
    {
        var (_, list) = Run("ip", "netns", "list");
        foreach (var line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            if (!name.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }
            var digits = new string(name[Prefix.Length..].TakeWhile(char.IsDigit).ToArray());
            if (int.TryParse(digits, CultureInfo.InvariantCulture, out var pid) && !File.Exists($"/proc/{pid}/stat"))
            {
                Run("ip", "netns", "del", name);
            }
        }
    }

    private static void Must(params string[] args)
    {
        var (code, output) = Run(args);
        if (code != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', args)} failed ({code}): {output}");
        }
    }

    private static (int Code, string Output) Run(params string[] args)
    {
        var psi = new ProcessStartInfo(args[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr);
    }
}
