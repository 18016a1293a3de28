using Flotel.Wire.Aws;

namespace Flotel.Wire.Tests.Aws;

/// <summary>The parser for the suite's request.txt / *-signed-request.txt format.</summary>
public sealed class RawHttpRequestTests
{
    [Fact]
    public void Parse_RequestWithFoldedHeaderAndNoBlankLine_KeepsRawValuesAndEmptyBody()
    {
        var request = RawHttpRequest.Parse("GET /?a=1 HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value1\n  value2\n     value3\n");

        Assert.Equal("GET", request.Method);
        Assert.Equal("/?a=1", request.Target);
        Assert.Equal("/", request.Path);
        Assert.Equal("a=1", request.Query);
        Assert.Equal("HTTP/1.1", request.Version);
        Assert.Equal(
            [new("Host", "example.amazonaws.com"), new("My-Header1", "value1\n  value2\n     value3")],
            request.Headers);
        Assert.Equal("", request.Body);
    }

    [Fact]
    public void Parse_TargetWithSpaceAndBodyAfterBlankLine_SplitsAtFirstAndLastSpace()
    {
        var request = RawHttpRequest.Parse("POST /example space/ HTTP/1.1\nMy-Header1: value1\n\nParam1=value1");

        Assert.Equal("/example space/", request.Target);
        Assert.Equal(" value1", Assert.Single(request.Headers).Value);
        Assert.Equal("Param1=value1", request.Body);
    }

    [Fact]
    public void Parse_CrLfLineEnds_ReadLikeLf()
    {
        var lf = RawHttpRequest.Parse("POST / HTTP/1.1\nHost:h\nA:b\n c\n\nbody\r\nmore");
        var crlf = RawHttpRequest.Parse("POST / HTTP/1.1\r\nHost:h\r\nA:b\r\n c\r\n\r\nbody\r\nmore");

        Assert.Equal(lf.Headers, crlf.Headers);
        Assert.Equal(lf.Body, crlf.Body);
    }

    [Theory]
    [InlineData("", nameof(RawHttpRequestError.MissingRequestLine))]
    [InlineData("\nHost:h\n", nameof(RawHttpRequestError.MissingRequestLine))]
    [InlineData("GET\n", nameof(RawHttpRequestError.MalformedRequestLine))]
    [InlineData("GET /\n", nameof(RawHttpRequestError.MalformedRequestLine))]
    [InlineData("GET / FTP/1.0\n", nameof(RawHttpRequestError.MalformedRequestLine))]
    [InlineData("GET / HTTP/1.1\nno-colon\n", nameof(RawHttpRequestError.MalformedHeader))]
    [InlineData("GET / HTTP/1.1\n:empty-name\n", nameof(RawHttpRequestError.MalformedHeader))]
    [InlineData("GET / HTTP/1.1\nBad Name:x\n", nameof(RawHttpRequestError.MalformedHeader))]
    [InlineData("GET / HTTP/1.1\n  folded-first\n", nameof(RawHttpRequestError.ContinuationWithoutHeader))]
    public void Parse_MalformedText_ThrowsWithReason(string text, string reason)
    {
        // The reason travels as its name: the enum is internal, and a public theory cannot take it.
        var error = Assert.Throws<RawHttpRequestFormatException>(() => RawHttpRequest.Parse(text));

        Assert.Equal(reason, error.Reason.ToString());
    }
}
