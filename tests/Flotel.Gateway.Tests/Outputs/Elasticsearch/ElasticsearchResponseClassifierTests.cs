using System.Net;
using System.Text;
using Flotel.Gateway.Outputs.Elasticsearch;
using Flotel.Pipeline.Delivery;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Gateway.Tests.Outputs.Elasticsearch;

public sealed class ElasticsearchResponseClassifierTests
{
    private static readonly LogDocument[] Batch = Enumerable.Range(1, 4).Select(i => new LogDocument("logstash-2022.05.12", "d" + i, Encoding.UTF8.GetBytes("{}"))).ToArray();

    private static DeliveryOutcome<LogDocument> Classify(HttpStatusCode status, string body)
    {
        using var response = new HttpResponseMessage(status) { Content = new StringContent(body) };
        return ElasticsearchResponseClassifier.ClassifyAsync(response, Batch, DateTimeOffset.UnixEpoch, CancellationToken.None).GetAwaiter().GetResult();
    }

    [Fact]
    public void Classify_ErrorsFalse_IsSuccess() =>
        Assert.IsType<DeliveryOutcome<LogDocument>.Delivered>(Classify(HttpStatusCode.OK, """{"errors":false,"items":[{"index":{"status":201}}]}"""));

    [Fact]
    public void Classify_MixedItems_RetriesOnly429DeadLetters400AndDrops409()
    {
        // docs/reference/syslog-and-elasticsearch.md §9.3 O4; the body as filter_path=errors,items.*.error,items.*.status shapes it.
        const string body = """
            {"errors":true,"items":[
              {"index":{"status":201}},
              {"index":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}}},
              {"index":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [pid]"}}},
              {"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[d4]: version conflict, document already exists"}}}]}
            """;

        var partial = Assert.IsType<DeliveryOutcome<LogDocument>.PartiallyDelivered>(Classify(HttpStatusCode.OK, body));

        Assert.Equal([Batch[1]], partial.RetryItems);
        Assert.Equal("item status 429: es_rejected_execution_exception: rejected execution of coordinating operation", partial.Reason);
        Assert.Equal(2, partial.Failed.Count);
        Assert.Equal((Batch[2], "http_400", "mapper_parsing_exception: failed to parse field [pid]", FailureAction.DeadLetter),
            (partial.Failed[0].Item, partial.Failed[0].Code, partial.Failed[0].Reason, partial.Failed[0].Action));
        Assert.Equal((Batch[3], "version_conflict", FailureAction.Drop), (partial.Failed[1].Item, partial.Failed[1].Code, partial.Failed[1].Action));
    }

    [Fact]
    public void Classify_ItemCountMismatch_RetriesTheWholeBatch()
    {
        var retry = Assert.IsType<DeliveryOutcome<LogDocument>.Retryable>(Classify(HttpStatusCode.OK, """{"errors":true,"items":[{"index":{"status":400}}]}"""));
        Assert.Equal("bulk response has 1 items for 4 actions", retry.Reason);
    }

    [Fact]
    public void Classify_NotJson_RetriesTheWholeBatch() =>
        Assert.IsType<DeliveryOutcome<LogDocument>.Retryable>(Classify(HttpStatusCode.OK, "<html>proxy</html>"));

    [Theory]
    [InlineData(HttpStatusCode.TooManyRequests, typeof(DeliveryOutcome<LogDocument>.Retryable))]
    [InlineData(HttpStatusCode.BadGateway, typeof(DeliveryOutcome<LogDocument>.Retryable))]
    [InlineData(HttpStatusCode.Unauthorized, typeof(DeliveryOutcome<LogDocument>.Retryable))]
    [InlineData(HttpStatusCode.Forbidden, typeof(DeliveryOutcome<LogDocument>.Retryable))]
    [InlineData(HttpStatusCode.RequestEntityTooLarge, typeof(DeliveryOutcome<LogDocument>.RequestTooLarge))]
    [InlineData(HttpStatusCode.BadRequest, typeof(DeliveryOutcome<LogDocument>.Rejected))]
    public void Classify_WholeRequestStatus_FollowsThePolicy(HttpStatusCode status, Type outcome) =>
        Assert.IsType(outcome, Classify(status, """{"Message":"Request size exceeded 10485760 bytes"}"""));

    [Fact]
    public void Classify_ItemRefusedWithoutAnErrorObject_DeadLettersWithTheItemStatusAsReason()
    {
        const string body = """{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":404}},{"index":{"status":201}},{"index":{"status":201}}]}""";

        var failure = Assert.Single(Assert.IsType<DeliveryOutcome<LogDocument>.PartiallyDelivered>(Classify(HttpStatusCode.OK, body)).Failed);

        Assert.Equal((Batch[1], "http_404", "item status 404"), (failure.Item, failure.Code, failure.Reason));
    }

    [Fact]
    public void Classify_WholeRequest400_RejectsWithTheHttpStatusAndTheServersMessage()
    {
        var rejected = Assert.IsType<DeliveryOutcome<LogDocument>.Rejected>(
            Classify(HttpStatusCode.BadRequest, """{"error":{"type":"parse_exception","reason":"request body is required"},"status":400}"""));

        Assert.Equal("http_400", rejected.Code);
        Assert.Equal("""HTTP 400: {"error":{"type":"parse_exception","reason":"request body is required"},"status":400}""", rejected.Reason);
    }
}
