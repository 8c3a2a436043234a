using System.Text.Json.Nodes;

namespace OutboxSync.Api.Errors;

public static class NeutronErrorBody
{
    public static JsonObject Create(string type, string message) => new()
    {
        ["NeutronError"] = new JsonObject
        {
            ["type"] = type,
            ["message"] = message,
            ["detail"] = "",
        },
    };

    public static Task WriteAsync(HttpContext context, int status, string type, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(Create(type, message).ToJsonString());
    }
}
