using Flotel.Pipeline.Net;

namespace Flotel.Pipeline.Tests.Net;

public sealed class UrlRedactionTests
{
    [Theory]
    [InlineData("https://user:pw@receiver.example:9090/api/v1/write?token=abc#frag", "https://receiver.example:9090/api/v1/write")]
    [InlineData("http://127.0.0.1/api/v1/write", "http://127.0.0.1/api/v1/write")]
    [InlineData("not a url user:pw", UrlRedaction.Invalid)]
    [InlineData(null, UrlRedaction.Invalid)]
    public void Redact_Text_KeepsSchemeHostPortAndPathOnly(string? url, string expected) =>
        Assert.Equal(expected, UrlRedaction.Redact(url));

    [Fact]
    public void Redact_Uri_DropsUserInfoAndQuery() =>
        Assert.Equal("https://es.example/_bulk", UrlRedaction.Redact(new Uri("https://logstash:s3cret@es.example/_bulk?pipeline=x")));
}
