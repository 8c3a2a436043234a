using OutboxSync.Hosting;
using OutboxSync.Simulator;
using OutboxSync.Simulator.Admin;
using OutboxSync.Simulator.Gateway;

var builder = WebApplication.CreateBuilder(args);
builder.UseShippedSettings();

// Loopback only unless --urls / ASPNETCORE_URLS says otherwise: this is a test double, not a service.
if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls(SimulatorOptions.DefaultUrl);
}

builder.Services.AddSimulator(builder.Configuration);

var app = builder.Build();

app.MapGateway();
app.MapAdmin();

app.Run();

/// <summary>Entry point; partial and public so tests can host it with WebApplicationFactory.</summary>
public partial class Program;
