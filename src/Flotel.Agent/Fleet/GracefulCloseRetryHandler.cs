using System.Net.Http;

namespace Flotel.Agent.Fleet;

/// <summary>
/// Sends a request once more, at once, when the gateway closed its HTTP/2 connection gracefully (GOAWAY, error code
/// NO_ERROR) under it. The gateway closes a device's connection once its open requests are answered while the device is
/// over <c>fleet.maxHeldPolls</c> (docs/fleet.md §5); a request that meets that close fails in .NET's HTTP/2 client with
/// "The HTTP/2 server closed the connection. HTTP/2 error code 'NO_ERROR'" unless the client could tell it was never
/// processed (RFC 9113 §6.8: only streams above GOAWAY's last stream id are known to be unprocessed), and the client does
/// not retry it. Also sent again: a request whose established connection was lost under it ("The request was aborted",
/// an I/O error after connecting), seen under load with the same closes, most likely the gateway closing its socket with
/// the device's next request unread, which makes the kernel reset the connection before the GOAWAY is read. A request
/// that could not connect at all is not repeated here (the callers' backoff handles an unreachable gateway). The
/// second attempt opens a new connection. Retried: requests whose body can be sent again (none, or an
/// in-memory array) and whose repetition is harmless — a bundle poll, a status report (the latest wins) and a remote
/// write (the gateway's store drops duplicate samples). A renewal is not: it would issue a second certificate.
/// </summary>
public sealed class GracefulCloseRetryHandler : DelegatingHandler
{
    /// <summary>The one route whose repetition is not harmless (docs/fleet.md §5).</summary>
    private const string RenewPath = "/fleet/v1/renew";

    private long _retried;

    public GracefulCloseRetryHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    /// <summary>Requests sent a second time after their connection closed under them.</summary>
    public long Retried => Interlocked.Read(ref _retried);

    /// <summary>True when <paramref name="e"/> is .NET's error for a request cut by the server's graceful close (NO_ERROR).</summary>
    public static bool IsGracefulClose(HttpRequestException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.HttpRequestError == HttpRequestError.HttpProtocolError && e.InnerException is HttpProtocolException { ErrorCode: 0 };
    }

    /// <summary>
    /// True when <paramref name="e"/> is a request cut by the close of its connection: the graceful close, or an I/O error
    /// on a connection that was established (not a failure to connect, resolve, or complete the TLS handshake).
    /// </summary>
    public static bool IsCutByClose(HttpRequestException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return IsGracefulClose(e)
            || (e.HttpRequestError is HttpRequestError.Unknown or HttpRequestError.ResponseEnded && e.InnerException is IOException);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (IsCutByClose(e) && CanSendAgain(request) && !cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _retried);
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the fleet listener is called asynchronously only");

    private static bool CanSendAgain(HttpRequestMessage request) =>
        request.Content is null or ByteArrayContent
        && !string.Equals(request.RequestUri?.AbsolutePath, RenewPath, StringComparison.Ordinal);
}
