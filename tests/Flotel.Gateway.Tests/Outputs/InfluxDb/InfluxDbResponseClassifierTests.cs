using System.Net;
using Flotel.Gateway.Outputs.InfluxDb;
using Flotel.Pipeline.Delivery;

namespace Flotel.Gateway.Tests.Outputs.InfluxDb;

public sealed class InfluxDbResponseClassifierTests
{
    [Theory]
    [InlineData(HttpStatusCode.NoContent, typeof(DeliveryOutcome<int>.Delivered))]
    [InlineData(HttpStatusCode.BadRequest, typeof(DeliveryOutcome<int>.Rejected))]
    [InlineData(HttpStatusCode.NotFound, typeof(DeliveryOutcome<int>.Retryable))]
    [InlineData(HttpStatusCode.Unauthorized, typeof(DeliveryOutcome<int>.Retryable))]
    [InlineData(HttpStatusCode.Forbidden, typeof(DeliveryOutcome<int>.Retryable))]
    [InlineData(HttpStatusCode.RequestEntityTooLarge, typeof(DeliveryOutcome<int>.RequestTooLarge))]
    [InlineData(HttpStatusCode.TooManyRequests, typeof(DeliveryOutcome<int>.Retryable))]
    [InlineData(HttpStatusCode.ServiceUnavailable, typeof(DeliveryOutcome<int>.Retryable))]
    public async Task Classify_Status_FollowsTheWriteApiPolicy(HttpStatusCode status, Type expected)
    {
        using var response = new HttpResponseMessage(status) { Content = new StringContent("""{"error":"database not found: \"flotta\""}""") };

        var outcome = await InfluxDbResponseClassifier.ClassifyAsync<int>(response, DateTimeOffset.UnixEpoch, CancellationToken.None);

        Assert.IsType(expected, outcome);
    }
}
