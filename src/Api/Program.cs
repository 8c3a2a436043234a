using OutboxSync.Api;

var builder = WebApplication.CreateBuilder(args);
builder.AddApiServices();

var app = builder.Build();
app.UseNeutronPipeline();
app.MapNeutronApi();
app.Run();

public partial class Program;
