using System.Text.Json.Nodes;
using OutboxSync.Chaos.Tests.Workload;

namespace OutboxSync.Chaos.Tests.Verification;

/// <summary>A reconciliation run requested through the operator API, as an operator would after an incident.</summary>
public static class ReconciliationRun
{
    /// <summary>Requests a run and waits for the workers to finish it; null when it was refused or did not finish.</summary>
    public static async Task<JsonObject?> RequestAsync(NeutronClient api, Action<string> log)
    {
        var requested = await api.SendAsync(HttpMethod.Post, "admin/v1/reconciliations", null, CancellationToken.None);
        if (!requested.IsSuccess)
        {
            log($"reconciliation request refused: {requested}");
            return null;
        }
        var id = requested.Body!["id"]!.GetValue<long>();
        try
        {
            return await Eventually.WaitAsync(async () =>
            {
                var latest = await api.SendAsync(HttpMethod.Get, "admin/v1/reconciliations/latest", null, CancellationToken.None);
                return latest.Body?["reconciliation"] as JsonObject;
            }, run => run?["id"]?.GetValue<long>() == id && run["state"]?.GetValue<string>() is "finished" or "failed",
                TimeSpan.FromSeconds(180), $"reconciliation run {id} to finish");
        }
        catch (TimeoutException e)
        {
            log(e.Message);
            return null;
        }
    }
}
