using System.Net;
using OutboxSync.Simulator.Tests.Support;

namespace OutboxSync.Simulator.Tests;

public sealed class CrudTests
{
    [Fact]
    public async Task Create_answers_201_with_the_stored_object_and_get_reads_it_back()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();

        var created = await gw.CreateAsync("networks", "n1", 3, new { Name = "blue", AdminStateUp = true }).ExpectAsync(HttpStatusCode.Created);

        Assert.Equal("n1", created.GetProperty("id").GetString());
        Assert.Equal(3, created.GetProperty("revision").GetInt64());
        Assert.Equal("blue", created.GetProperty("attributes").GetProperty("name").GetString());
        Assert.True(created.GetProperty("attributes").GetProperty("admin_state_up").GetBoolean());
        Assert.Equal(created.GetProperty("created_at").GetDateTimeOffset(), created.GetProperty("updated_at").GetDateTimeOffset());

        var read = await gw.GetJsonAsync("/v1/networks/n1");
        Assert.Equal(created.GetRawText(), read.GetRawText());
        Assert.Empty(await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Create_of_an_existing_id_answers_409_already_exists()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("routers", "r1", 1).ExpectAsync(HttpStatusCode.Created);

        var body = await gw.CreateAsync("routers", "r1", 2).ExpectAsync(HttpStatusCode.Conflict);

        Assert.Equal("already_exists", body.GetProperty("error").GetString());
        Assert.Equal(1, body.GetProperty("current_revision").GetInt64());
        Assert.Empty(await gw.NonZeroViolationsAsync());
    }

    [Fact]
    public async Task Update_replaces_attributes_and_revision_and_keeps_created_at()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        var created = await gw.CreateAsync("networks", "n1", 1, new { Name = "old", Mtu = 1500 }).ExpectAsync(HttpStatusCode.Created);

        var updated = await gw.UpdateAsync("networks", "n1", 2, new { Name = "new" }).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(2, updated.GetProperty("revision").GetInt64());
        Assert.Equal("new", updated.GetProperty("attributes").GetProperty("name").GetString());
        Assert.False(updated.GetProperty("attributes").TryGetProperty("mtu", out _));
        Assert.Equal(created.GetProperty("created_at").GetDateTimeOffset(), updated.GetProperty("created_at").GetDateTimeOffset());
        Assert.Equal(updated.GetRawText(), (await gw.GetJsonAsync("/v1/networks/n1")).GetRawText());
    }

    [Fact]
    public async Task Update_of_a_missing_object_answers_404_not_found()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();

        await gw.UpdateAsync("networks", "ghost", 1).ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");

        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/networks/ghost"));
    }

    [Fact]
    public async Task Delete_answers_204_and_a_second_delete_answers_404()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("routers", "r1", 1).ExpectAsync(HttpStatusCode.Created);

        await gw.DeleteAsync("routers", "r1").ExpectAsync(HttpStatusCode.NoContent);
        await gw.DeleteAsync("routers", "r1").ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");

        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/routers/r1"));
    }

    [Fact]
    public async Task Listing_pages_in_id_order_with_limit_and_marker()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        foreach (var id in new[] { "n-03", "n-01", "n-05", "n-02", "n-04" })
        {
            await gw.CreateAsync("networks", id, 1).ExpectAsync(HttpStatusCode.Created);
        }

        var seen = new List<string>();
        string? marker = null;
        var pages = 0;
        do
        {
            var page = await gw.GetJsonAsync($"/v1/networks?limit=2{(marker is null ? "" : $"&marker={marker}")}");
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("id").GetString()!));
            marker = page.GetProperty("next_marker").GetString();
            pages++;
        }
        while (marker is not null);

        Assert.Equal(["n-01", "n-02", "n-03", "n-04", "n-05"], seen);
        Assert.Equal(3, pages);

        var all = await gw.GetJsonAsync("/v1/networks");
        Assert.Equal(5, all.GetProperty("items").GetArrayLength());
        Assert.Null(all.GetProperty("next_marker").GetString());

        var afterMissingMarker = await gw.GetJsonAsync("/v1/networks?marker=n-025");
        Assert.Equal("n-03", afterMissingMarker.GetProperty("items")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task An_exactly_full_last_page_names_no_next_marker()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        foreach (var id in new[] { "n-01", "n-02", "n-03", "n-04" })
        {
            await gw.CreateAsync("networks", id, 1).ExpectAsync(HttpStatusCode.Created);
        }

        var first = await gw.GetJsonAsync("/v1/networks?limit=2");
        var last = await gw.GetJsonAsync($"/v1/networks?limit=2&marker={first.GetProperty("next_marker").GetString()}");

        Assert.Equal(2, last.GetProperty("items").GetArrayLength());
        Assert.Null(last.GetProperty("next_marker").GetString());
    }

    [Fact]
    public async Task Update_of_a_deleted_id_above_its_tombstone_is_not_found_and_does_not_recreate()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("routers", "r1", 3).ExpectAsync(HttpStatusCode.Created);
        await gw.DeleteAsync("routers", "r1").ExpectAsync(HttpStatusCode.NoContent);

        await gw.UpdateAsync("routers", "r1", 4).ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");

        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/routers/r1"));
        Assert.Empty(await gw.NonZeroViolationsAsync());
    }

    [Theory]
    [InlineData("/v1/networks?limit=0")]
    [InlineData("/v1/networks?limit=abc")]
    [InlineData("/v1/interfaces?limit=-1")]
    public async Task Listing_with_a_bad_limit_is_bad_request(string path)
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();

        await gw.Http.GetAsync(new Uri(path, UriKind.Relative)).ExpectErrorAsync(HttpStatusCode.BadRequest, "bad_request");
    }

    [Fact]
    public async Task Unknown_collection_answers_404()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();

        await gw.CreateAsync("volumes", "v1", 1).ExpectErrorAsync(HttpStatusCode.NotFound, "not_found");
        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/volumes/v1"));
    }

    [Theory]
    [InlineData(null, "k1", """{"id":"n1","revision":1}""")]
    [InlineData("not-a-number", "k1", """{"id":"n1","revision":1}""")]
    [InlineData("1", null, """{"id":"n1","revision":1}""")]
    [InlineData("1", "k1", """{"id":"n1"}""")]
    [InlineData("1", "k1", """{"revision":1}""")]
    [InlineData("1", "k1", """{"id":"n1","revision":1,"attributes":[1]}""")]
    [InlineData("1", "k1", """not json""")]
    public async Task Mutation_with_missing_or_invalid_headers_or_body_is_bad_request(string? token, string? key, string body)
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        var headers = new Dictionary<string, string>();
        if (token is not null)
        {
            headers["X-Fencing-Token"] = token;
        }

        if (key is not null)
        {
            headers["Idempotency-Key"] = key;
        }

        await gw.SendAsync(HttpMethod.Post, "/v1/networks", body, headers).ExpectErrorAsync(HttpStatusCode.BadRequest, "bad_request");

        Assert.Equal(HttpStatusCode.NotFound, await gw.StatusOfGetAsync("/v1/networks/n1"));
        var outcomes = (await gw.GetJsonAsync("/_sim/stats")).GetProperty("outcomes");
        Assert.Equal(1, outcomes.GetProperty("bad_request").GetInt64());
        Assert.Equal(0, outcomes.GetProperty("applied").GetInt64());
    }

    [Fact]
    public async Task Delete_without_idempotency_key_is_bad_request_and_keeps_the_object()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("routers", "r1", 1).ExpectAsync(HttpStatusCode.Created);

        await gw.SendAsync(HttpMethod.Delete, "/v1/routers/r1", null, new Dictionary<string, string> { ["X-Fencing-Token"] = "1" })
            .ExpectErrorAsync(HttpStatusCode.BadRequest, "bad_request");

        Assert.Equal(HttpStatusCode.OK, await gw.StatusOfGetAsync("/v1/routers/r1"));
    }

    [Fact]
    public async Task Update_whose_body_id_differs_from_the_path_is_bad_request()
    {
        await using var sim = new SimulatorFactory();
        var gw = sim.Gateway();
        await gw.CreateAsync("routers", "r1", 1).ExpectAsync(HttpStatusCode.Created);

        await gw.MutateAsync(HttpMethod.Put, "/v1/routers/r1", new { id = "r2", revision = 2 }, 1, null)
            .ExpectErrorAsync(HttpStatusCode.BadRequest, "bad_request");
        await gw.MutateAsync(HttpMethod.Put, "/v1/routers/r1", new { id = "r1", revision = 2 }, 1, null)
            .ExpectAsync(HttpStatusCode.OK);
    }
}
