using System.Net;
using Flotel.Gateway.Outputs.RemoteWrite;
using Flotel.Pipeline.Delivery;

namespace Flotel.Gateway.Tests.Outputs.RemoteWrite;

public sealed class RemoteWriteResponseClassifierTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static DeliveryOutcome<int> Classify(HttpStatusCode status, string body = "", string? retryAfter = null)
    {
        using var response = new HttpResponseMessage(status) { Content = new StringContent(body) };
        if (retryAfter is not null)
        {
            response.Headers.TryAddWithoutValidation("Retry-After", retryAfter);
        }

        return RemoteWriteResponseClassifier.ClassifyAsync<int>(response, Now, CancellationToken.None).GetAwaiter().GetResult();
    }

    [Theory]
    [InlineData(HttpStatusCode.OK)]
    [InlineData(HttpStatusCode.NoContent)]
    public void Classify_2xx_IsSuccess(HttpStatusCode status) => Assert.IsType<DeliveryOutcome<int>.Delivered>(Classify(status));

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.BadGateway)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    public void Classify_5xx_IsRetriedWithTheReceiversMessage(HttpStatusCode status)
    {
        var retry = Assert.IsType<DeliveryOutcome<int>.Retryable>(Classify(status, "tsdb busy"));
        Assert.Contains("tsdb busy", retry.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Classify_429WithRetryAfter_IsRetriedAfterThatDelay()
    {
        var retry = Assert.IsType<DeliveryOutcome<int>.Retryable>(Classify(HttpStatusCode.TooManyRequests, "slow down", "7"));
        Assert.Equal(TimeSpan.FromSeconds(7), retry.RetryAfter);
    }

    [Fact]
    public void Classify_400_IsRejectedForGoodWithTheReceiversMessage()
    {
        var reject = Assert.IsType<DeliveryOutcome<int>.Rejected>(Classify(HttpStatusCode.BadRequest, "out of order sample\n"));
        Assert.Equal("http_400", reject.Code);
        Assert.Equal("HTTP 400: out of order sample", reject.Reason);
    }

    [Fact]
    public void Classify_413_AsksTheDriverToHalveTheBatch() =>
        Assert.IsType<DeliveryOutcome<int>.RequestTooLarge>(Classify(HttpStatusCode.RequestEntityTooLarge));

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.Forbidden)]
    public void Classify_AuthenticationFailure_IsRetriedNotDeadLettered(HttpStatusCode status)
    {
        var retry = Assert.IsType<DeliveryOutcome<int>.Retryable>(Classify(status, "bad token"));
        Assert.Contains("credentials", retry.Reason, StringComparison.Ordinal);
    }
}
