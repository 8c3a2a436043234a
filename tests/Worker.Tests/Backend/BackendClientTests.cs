using System.Net;
using OutboxSync.Worker.Backend;

namespace OutboxSync.Worker.Tests.Backend;

public sealed class BackendClientTests
{
    [Theory]
    [InlineData(201, "", BackendOutcomeKind.Applied)]
    [InlineData(204, "", BackendOutcomeKind.Applied)]
    [InlineData(404, """{"error":"not_found"}""", BackendOutcomeKind.NotFound)]
    [InlineData(409, """{"error":"already_exists"}""", BackendOutcomeKind.AlreadyExists)]
    [InlineData(409, """{"error":"stale_token"}""", BackendOutcomeKind.StaleToken)]
    [InlineData(409, """{"error":"stale_revision"}""", BackendOutcomeKind.StaleRevision)]
    [InlineData(409, """{"error":"unknown_parent"}""", BackendOutcomeKind.OrderingConflict)]
    [InlineData(409, """{"error":"has_children"}""", BackendOutcomeKind.OrderingConflict)]
    [InlineData(422, """{"error":"rejected","message":"name not allowed"}""", BackendOutcomeKind.Rejected)]
    [InlineData(400, "garbage", BackendOutcomeKind.Rejected)]
    [InlineData(503, """{"error":"outage"}""", BackendOutcomeKind.Outage)]
    [InlineData(503, """{"error":"injected"}""", BackendOutcomeKind.Transient)]
    [InlineData(500, "", BackendOutcomeKind.Transient)]
    [InlineData(429, "", BackendOutcomeKind.Transient)]
    public void Answers_are_classified_by_the_contract(int status, string body, BackendOutcomeKind expected) =>
        Assert.Equal(expected, BackendClient.Classify((HttpStatusCode)status, body).Kind);

    [Fact]
    public void A_rejection_keeps_the_back_ends_own_reason()
    {
        var outcome = BackendClient.Classify(HttpStatusCode.UnprocessableEntity, """{"error":"rejected","message":"name contains reject"}""");
        Assert.Equal("back end rejected (422 rejected): name contains reject", outcome.Detail);
    }

    [Fact]
    public void Only_transient_failures_and_outages_feed_the_circuit_breaker()
    {
        var counted = Enum.GetValues<BackendOutcomeKind>().Where(k => new BackendOutcome(k, null, "").CountsAgainstBreaker);
        Assert.Equal([BackendOutcomeKind.Transient, BackendOutcomeKind.Outage], counted);
    }
}
