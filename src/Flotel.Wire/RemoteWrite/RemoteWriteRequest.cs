using System.Net.Http.Headers;

namespace Flotel.Wire.RemoteWrite;

/// <summary>
/// The HTTP request of Prometheus remote write 1.0 (remote-write spec 1.0, "Protocol"), the same for the agent and the
/// gateway: <c>POST</c> of a snappy-compressed protobuf <c>WriteRequest</c> with <c>Content-Encoding: snappy</c>,
/// <c>Content-Type: application/x-protobuf</c>, <c>X-Prometheus-Remote-Write-Version: 0.1.0</c> and a
/// <c>User-Agent</c> naming the sender, as the spec asks. Credentials, extra headers and the timeout are the sender's.
/// </summary>
public static class RemoteWriteRequest
{
    /// <summary>A request posting <paramref name="body"/> (snappy block of a protobuf <c>WriteRequest</c>, not copied) to <paramref name="url"/>; disposing it disposes its content.</summary>
    public static HttpRequestMessage Create(Uri url, ReadOnlyMemory<byte> body, ProductInfoHeaderValue userAgent)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(userAgent);
        var content = new ReadOnlyMemoryContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(RemoteWriteHeaders.ContentType);
        content.Headers.ContentEncoding.Add(RemoteWriteHeaders.ContentEncoding);
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        request.Headers.Add(RemoteWriteHeaders.VersionName, RemoteWriteHeaders.Version);
        request.Headers.UserAgent.Add(userAgent);
        return request;
    }
}
