using System.Net;
using Flotel.Agent.Fleet;

namespace Flotel.Agent.Tests.Fleet;

/// <summary>
/// A request cut by the gateway's graceful close (GOAWAY, NO_ERROR: docs/fleet.md §5) is sent once more; anything else
/// fails as before. The inner handler raises exactly what .NET's HTTP/2 client raises for such a request.
/// </summary>
public sealed class GracefulCloseRetryHandlerTests
{
    private const string ClosedMessage = "The HTTP/2 server closed the connection. HTTP/2 error code 'NO_ERROR' (0x0).";

    [Fact]
    public async Task RemoteWrite_CutByGracefulClose_IsSentAgainWithItsBody()
    {
        var inner = new ScriptedHandler(GracefulClose(), null);
        using var client = new HttpClient(new GracefulCloseRetryHandler(inner));
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://gateway.example:8443/api/v1/write") { Content = new ByteArrayContent([1, 2, 3]) };

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal([[1, 2, 3], [1, 2, 3]], inner.Bodies);
    }

    [Fact]
    public async Task StatusReport_WhoseConnectionWasAborted_IsSentAgain()
    {
        var aborted = new HttpRequestException(
            HttpRequestError.Unknown, "An error occurred while sending the request.", new IOException("The request was aborted."));
        var inner = new ScriptedHandler(aborted, null);
        var handler = new GracefulCloseRetryHandler(inner);
        using var client = new HttpClient(handler);

        using var response = await client.PostAsync(new Uri("https://gateway.example:8443/fleet/v1/status"), new ByteArrayContent([7]));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal([[7], [7]], inner.Bodies);
        Assert.Equal(1, handler.Retried);
    }

    [Fact]
    public async Task Request_CutTwice_FailsWithTheSecondError()
    {
        var inner = new ScriptedHandler(GracefulClose(), GracefulClose(), null);
        var handler = new GracefulCloseRetryHandler(inner);
        using var client = new HttpClient(handler);

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri("https://gateway.example:8443/fleet/v1/bundle?wait=0")));

        Assert.True(GracefulCloseRetryHandler.IsGracefulClose(e));
        Assert.Equal(2, inner.Bodies.Count);
        Assert.Equal(1, handler.Retried);
    }

    [Fact]
    public async Task Renewal_CutByGracefulClose_IsNotRepeated()
    {
        var inner = new ScriptedHandler(GracefulClose(), null);
        var handler = new GracefulCloseRetryHandler(inner);
        using var client = new HttpClient(handler);

        await Assert.ThrowsAsync<HttpRequestException>(
            () => client.PostAsync(new Uri("https://gateway.example:8443/fleet/v1/renew"), new ByteArrayContent([1])));

        Assert.Single(inner.Bodies);
        Assert.Equal(0, handler.Retried);
    }

    [Fact]
    public async Task Request_ResetWithAnError_OrConnectionRefused_IsNotRepeated()
    {
        var protocolError = new HttpRequestException(
            HttpRequestError.HttpProtocolError, "reset", new HttpProtocolException(2, "INTERNAL_ERROR", null));
        var refused = new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused");
        var inner = new ScriptedHandler(protocolError, refused, null);
        using var client = new HttpClient(new GracefulCloseRetryHandler(inner));

        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri("https://gateway.example:8443/fleet/v1/bundle")));
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri("https://gateway.example:8443/fleet/v1/bundle")));

        Assert.Equal(2, inner.Bodies.Count);
    }

    private static HttpRequestException GracefulClose() =>
        new(HttpRequestError.HttpProtocolError, ClosedMessage, new HttpProtocolException(0, ClosedMessage, null));

    /// <summary>Fails each call with the next scripted exception, or answers 204 where the script says null; records each body sent.</summary>
    private sealed class ScriptedHandler(params HttpRequestException?[] script) : HttpMessageHandler
    {
        private int _call;

        public List<byte[]> Bodies { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Bodies.Add(request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken));
            var next = script[_call++];
            return next is null ? new HttpResponseMessage(HttpStatusCode.NoContent) : throw next;
        }
    }
}
