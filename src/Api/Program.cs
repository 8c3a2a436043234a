using OutboxSync.Api;
using OutboxSync.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("outboxsync-api");
builder.AddApiServices();

var app = builder.Build();
app.MapServiceDefaults();
app.UseNeutronPipeline();
app.MapNeutronApi();
app.Run();

public partial class Program;
