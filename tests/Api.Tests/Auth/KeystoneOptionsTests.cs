using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Options;
using OutboxSync.Api.Auth;
using OutboxSync.Api.Tests.Infrastructure;
using Xunit;

namespace OutboxSync.Api.Tests.Auth;

public sealed class KeystoneOptionsTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public void Unconfigured_keystone_options_take_their_documented_defaults_and_keystone_is_off()
    {
        var o = new KeystoneOptions();
        Assert.False(o.Enabled);
        Assert.Equal((TimeSpan.FromMinutes(5), 10_000, TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(2)),
            (o.CacheDuration, o.MaxCachedTokens, o.Timeout, o.ServiceTokenRenewBefore));
        Assert.Equal(("neutron", "Default", "service", "Default"), (o.Username, o.UserDomainName, o.ProjectName, o.ProjectDomainName));
    }

    [Theory]
    [InlineData("http://keystone:5000", "http://keystone:5000/v3/auth/tokens")]
    [InlineData("http://keystone:5000/", "http://keystone:5000/v3/auth/tokens")]
    [InlineData("https://id.example/identity/v3", "https://id.example/identity/v3/auth/tokens")]
    public void The_auth_url_may_be_given_with_or_without_v3(string authUrl, string tokens)
    {
        Assert.Equal(tokens, new Uri(new KeystoneOptions { AuthUrl = authUrl }.IdentityV3(), "auth/tokens").ToString());
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000", null, "Auth:Keystone:Password is required")]
    [InlineData("not a url", "secret", "Auth:Keystone:AuthUrl must be an absolute http(s) URL")]
    [InlineData("http://127.0.0.1:5000", "secret", "Auth:Keystone:MaxCachedTokens must be between", "0")]
    public void A_bad_keystone_setting_stops_the_api_at_start_naming_it(string authUrl, string? password, string message, string? maxCached = null)
    {
        var host = api.WithWebHostBuilder(b =>
        {
            b.UseSetting("Auth:Keystone:AuthUrl", authUrl);
            if (password is not null)
            {
                b.UseSetting("Auth:Keystone:Password", password);
            }
            if (maxCached is not null)
            {
                b.UseSetting("Auth:Keystone:MaxCachedTokens", maxCached);
            }
        });
        var error = Assert.Throws<OptionsValidationException>(() => host.CreateClient());
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
