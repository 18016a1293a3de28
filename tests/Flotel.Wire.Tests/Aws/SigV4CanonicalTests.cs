using System.Text;
using Flotel.Wire.Aws;

namespace Flotel.Wire.Tests.Aws;

/// <summary>The canonicalisation rules one by one (the suite covers them in combination).</summary>
public sealed class SigV4CanonicalTests
{
    [Theory]
    [InlineData("/", "/")]
    [InlineData("//", "/")]
    [InlineData("/./", "/")]
    [InlineData("/example/..", "/")]
    [InlineData("/a/b/../..", "/")]
    [InlineData("/../a", "/a")]
    [InlineData("//example//", "/example/")]
    [InlineData("/./example", "/example")]
    [InlineData("/a/./b/../c/", "/a/c/")]
    [InlineData("/a/b/.", "/a/b/")]
    [InlineData("/_bulk", "/_bulk")]
    public void NormalizePath_DotAndEmptySegments_AreRemoved(string path, string expected)
        => Assert.Equal(expected, SigV4Canonical.NormalizePath(path));

    [Theory]
    [InlineData("-._~AZaz09", "-._~AZaz09")]
    [InlineData("a b", "a%20b")]
    [InlineData("a/b", "a%2Fb")]
    [InlineData("a+b=c;d", "a%2Bb%3Dc%3Bd")]
    [InlineData("\u1234", "%E1%88%B4")]
    [InlineData("%", "%25")]
    public void UriEncode_QueryComponent_KeepsOnlyUnreservedAndUsesUppercaseHex(string value, string expected)
        => Assert.Equal(expected, SigV4Canonical.UriEncode(value));

    [Fact]
    public void UriEncode_PathMode_KeepsSlashes()
    {
        var builder = new StringBuilder();
        SigV4Canonical.AppendUriEncoded(builder, "/a b/c", keepSlash: true);
        Assert.Equal("/a%20b/c", builder.ToString());
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("b=2&a=1", "a=1&b=2")]
    [InlineData("a=2&a=1", "a=1&a=2")]
    [InlineData("key", "key=")]
    [InlineData("key=", "key=")]
    [InlineData("a=1&&b=2", "a=1&b=2")]
    [InlineData("x=a+b", "x=a%2Bb")]
    [InlineData("x=%e1%88%b4", "x=%E1%88%B4")]
    [InlineData("x=100%", "x=100%25")]
    [InlineData("x=a=b", "x=a%3Db")]
    [InlineData("Param-3=3&Param=2&%E1%88%B4=1", "%E1%88%B4=1&Param=2&Param-3=3")]
    public void CanonicalQuery_WireQuery_IsDecodedReencodedAndSortedByKeyThenValue(string query, string expected)
        => Assert.Equal(expected, SigV4Canonical.CanonicalQuery(SigV4Canonical.EncodedQueryParameters(query)));

    [Theory]
    [InlineData(" value1 ", "value1")]
    [InlineData("\"a   b   c\"", "\"a b c\"")]
    [InlineData("value1\n  value2\n     value3", "value1 value2 value3")]
    [InlineData("a\t\tb", "a b")]
    [InlineData("", "")]
    public void CanonicalHeaderValue_Whitespace_IsTrimmedAndCollapsed(string value, string expected)
        => Assert.Equal(expected, SigV4Canonical.CanonicalHeaderValue(value));

    [Theory]
    [InlineData("", true, true, "/")]
    [InlineData("/example space/", true, true, "/example%20space/")]
    [InlineData("//example//", false, true, "//example//")]
    [InlineData("/a%2Fb", true, true, "/a%252Fb")]
    [InlineData("/a%2Fb", true, false, "/a%2Fb")]
    public void CanonicalUri_Options_NormaliseAndEncodeAsConfigured(string path, bool normalize, bool encode, string expected)
        => Assert.Equal(expected, SigV4Canonical.CanonicalUri(path, normalize, encode));
}
