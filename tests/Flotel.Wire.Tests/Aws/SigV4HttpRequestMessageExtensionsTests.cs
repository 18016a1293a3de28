using System.Net.Http.Headers;
using System.Text;
using Flotel.Wire.Aws;

namespace Flotel.Wire.Tests.Aws;

/// <summary>Signing an HttpRequestMessage in place, checked against a suite case with a body.</summary>
public sealed class SigV4HttpRequestMessageExtensionsTests
{
    [Fact]
    public async Task SignAsync_FormUrlEncodedSuiteCase_AddsTheSuiteAuthorizationAndHeaders()
    {
        // Suite case post-x-www-form-urlencoded: body, Content-Type, Content-Length and x-amz-content-sha256 signed.
        var suiteCase = SigV4SuiteCase.Load("post-x-www-form-urlencoded");
        var expected = RawHttpRequest.Parse(suiteCase.Read("header-signed-request.txt"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://example.amazonaws.com/")
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(suiteCase.Request.Body)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        var signer = new SigV4Signer(suiteCase.Region, suiteCase.Service, suiteCase.Options);

        var result = await signer.SignAsync(request, suiteCase.Credentials, suiteCase.Timestamp);

        Assert.Equal(suiteCase.Read("header-canonical-request.txt"), result.CanonicalRequest);
        Assert.Equal(
            Assert.Single(expected.Headers, h => h.Key == "Authorization").Value,
            Assert.Single(request.Headers.GetValues("Authorization")));
        Assert.Equal("20150830T123600Z", Assert.Single(request.Headers.GetValues("X-Amz-Date")));
        Assert.Equal(
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
            Assert.Single(request.Headers.GetValues("X-Amz-Content-Sha256")));
    }

    [Fact]
    public async Task SignAsync_NonDefaultPortAndQuery_SignsHostWithPortAndCanonicalQuery()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1:9200/logs-1/_search?q=a%20b&size=1");
        var signer = new SigV4Signer("us-east-1", "es");

        var result = await signer.SignAsync(request, new AwsCredentials("AKIDEXAMPLE", "secret"), new DateTimeOffset(2015, 8, 30, 12, 36, 0, TimeSpan.Zero));

        Assert.StartsWith(
            "GET\n/logs-1/_search\nq=a%20b&size=1\nhost:127.0.0.1:9200\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n",
            result.CanonicalRequest,
            StringComparison.Ordinal);
        Assert.Equal(result.Authorization, Assert.Single(request.Headers.GetValues("Authorization")));
    }
}
