using System.Net.Http.Headers;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Wire.Tests.RemoteWrite;

public sealed class RemoteWriteRequestTests
{
    [Fact]
    public async Task Create_Body_PostWithTheSpecsHeadersAndTheSendersUserAgent()
    {
        using var request = RemoteWriteRequest.Create(new Uri("http://127.0.0.1:9090/api/v1/write"), new byte[] { 1, 2, 3 }, new ProductInfoHeaderValue("flotel-agent", "1.0"));

        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://127.0.0.1:9090/api/v1/write", request.RequestUri!.ToString());
        Assert.Equal("application/x-protobuf", request.Content!.Headers.ContentType!.ToString());
        Assert.Equal(["snappy"], request.Content.Headers.ContentEncoding);
        Assert.Equal(["0.1.0"], request.Headers.GetValues("X-Prometheus-Remote-Write-Version"));
        Assert.Equal("flotel-agent/1.0", request.Headers.UserAgent.ToString());
        Assert.Equal(new byte[] { 1, 2, 3 }, await request.Content.ReadAsByteArrayAsync());
    }
}
