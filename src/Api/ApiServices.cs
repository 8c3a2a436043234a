using OutboxSync.Api.Accept;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Endpoints;
using OutboxSync.Api.Errors;
using OutboxSync.Api.Lists;
using OutboxSync.Hosting;
using OutboxSync.Api.Operator;
using OutboxSync.Outbox;
using OutboxSync.Persistence;

namespace OutboxSync.Api;

public static class ApiServices
{
    /// <summary>Options, authentication, the accept path and endpoint services of the Neutron API. Expects
    /// <see cref="ServiceDefaults.AddServiceDefaults"/> (database, health, telemetry) to be registered too.</summary>
    public static IHostApplicationBuilder AddApiServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHostedService<ModelWarmup>();
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(o => o.UseNeutronErrorShape());
        builder.Services.AddOptions<ApiOptions>()
            .Bind(builder.Configuration.GetSection(ApiOptions.Section))
            .ValidateDataAnnotations()
            .Validate(o => o.DefaultMtu <= o.MaxMtu, "Api:DefaultMtu must not exceed Api:MaxMtu.")
            .ValidateOnStart();
        builder.Services.AddOptions<PortBindingOptions>()
            .Bind(builder.Configuration.GetSection(PortBindingOptions.Section))
            .ValidateDataAnnotations()
            .Validate(o => o.VifDetails.Keys.All(k => k.Length is > 0 and <= 64), "Api:PortBinding:VifDetails keys must be 1-64 characters.")
            .ValidateOnStart();
        builder.Services.AddSingleton<PortBindings>();
        builder.Services.AddSingleton<DefaultSecurityGroups>();
        builder.Services.AddOptions<TokenOptions>()
            .Bind(builder.Configuration.GetSection(TokenOptions.Section))
            .Validate(o => o.Tokens.All(t => t.Sha256.Length == 64 && t.Sha256.All(Uri.IsHexDigit) && t.ProjectId.Length > 0),
                "Auth:Tokens: every entry needs Sha256 (64 hex characters) and ProjectId.")
            .Validate(o => o.TokensFile is null || File.Exists(o.TokensFile), "Auth:TokensFile names a file that does not exist.")
            .ValidateOnStart();
        builder.Services.AddSingleton<TokenRegistry>();
        builder.AddKeystoneValidation();
        builder.Services.AddPerTokenRateLimiting(builder.Configuration);
        builder.Services.AddSingleton<OutboxWakeup>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OutboxWakeup>());
        builder.Services.AddScoped<OutboxWriter>();
        builder.Services.AddSingleton<AcceptGate>();
        builder.Services.AddScoped<AcceptTransaction>();
        builder.Services.AddScoped<ResourceLookup>();
        builder.Services.AddScoped<ResourceLister>();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.WriteIndented = false);
        return builder;
    }

    /// <summary>Keystone token validation (section <c>Auth:Keystone</c>), registered only when an AuthUrl is configured.</summary>
    private static void AddKeystoneValidation(this IHostApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(KeystoneOptions.Section);
        builder.Services.AddOptions<KeystoneOptions>()
            .Bind(section)
            .ValidateDataAnnotations()
            .Validate(o => !o.Enabled || Uri.TryCreate(o.AuthUrl, UriKind.Absolute, out var u) && u.Scheme is "http" or "https",
                "Auth:Keystone:AuthUrl must be an absolute http(s) URL.")
            .Validate(o => !o.Enabled || !string.IsNullOrEmpty(o.Password), "Auth:Keystone:Password is required when Auth:Keystone:AuthUrl is set.")
            .ValidateOnStart();
        if (string.IsNullOrWhiteSpace(section[nameof(KeystoneOptions.AuthUrl)]))
        {
            return;
        }
        builder.Services.AddHttpClient(KeystoneClient.HttpClientName, (sp, http) =>
            http.Timeout = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<KeystoneOptions>>().Value.Timeout);
        builder.Services.AddSingleton<KeystoneClient>();
        builder.Services.AddSingleton<KeystoneTokenCache>();
    }

    /// <summary>Middleware order: errors outermost, then body limits, then tokens.</summary>
    public static WebApplication UseNeutronPipeline(this WebApplication app)
    {
        var maxBody = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ApiOptions>>().Value.MaxBodyBytes;
        app.UseMiddleware<NeutronErrorMiddleware>();
        app.Use((context, next) =>
        {
            RequestSizeLimits.Apply(context, maxBody);
            return next(context);
        });
        app.UseStatusCodePages(async status =>
        {
            var response = status.HttpContext.Response;
            var (type, message) = response.StatusCode switch
            {
                404 => ("HTTPNotFound", "The resource could not be found."),
                405 => ("HTTPMethodNotAllowed", "The method is not allowed for this resource."),
                _ => ("HTTPError", "The request failed."),
            };
            await NeutronErrorBody.WriteAsync(status.HttpContext, response.StatusCode, type, message);
        });
        app.UseMiddleware<TokenAuthenticationMiddleware>();
        app.UseRateLimiter();
        return app;
    }

    public static WebApplication MapNeutronApi(this WebApplication app)
    {
        app.MapVersions();
        app.MapExtensions();
        app.MapNetworks();
        app.MapSubnets();
        app.MapPorts();
        app.MapRouters();
        app.MapSecurityGroups();
        app.MapSecurityGroupRules();
        app.MapSubnetPools();
        app.MapTags();
        app.MapOperatorApi();
        return app;
    }
}
