using Flotel.Wire.Aws;

namespace Flotel.Wire.Tests.Aws;

/// <summary>
/// Signer behaviour beyond the suite: the published post-vanilla example (docs/reference/timestream-and-remote-write.md §3.2), key derivation
/// and its cache, UTC handling, validation, and that secrets stay out of text.
/// </summary>
public sealed class SigV4SignerTests
{
    // AWS documentation example credentials (not a real key), as in the SigV4 test suite.
    private const string AccessKeyId = "AKIDEXAMPLE";
    private const string Secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private const string Token = "AQoDYXdzEPT//////////wEXAMPLEtoken";
    private static readonly DateTimeOffset SuiteTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);

    private static SigV4Request Vanilla(string method, params KeyValuePair<string, string>[] extraHeaders)
        => new(method, "/", "", [new("Host", "example.amazonaws.com"), .. extraHeaders], SigV4Request.EmptyPayloadHash);

    [Fact]
    public void Sign_PostVanillaFromReference_MatchesPublishedCanonicalRequestStringToSignAndAuthorization()
    {
        var signer = new SigV4Signer("us-east-1", "service");

        var result = signer.Sign(Vanilla("POST"), new AwsCredentials(AccessKeyId, Secret), SuiteTime);

        Assert.Equal(
            "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            result.CanonicalRequest);
        Assert.Equal(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            + "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
            result.StringToSign);
        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
            + "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            result.Authorization);
        Assert.Equal(["X-Amz-Date", "Authorization"], result.HeadersToAdd.Select(h => h.Key));
        Assert.Equal("20150830T123600Z", result.AmzDate);
        Assert.Equal("20150830/us-east-1/service/aws4_request", result.CredentialScope);
    }

    [Fact]
    public void Sign_GetVanillaFromReference_MatchesBotocoreSignature()
    {
        var result = new SigV4Signer("us-east-1", "service").Sign(Vanilla("GET"), new AwsCredentials(AccessKeyId, Secret), SuiteTime);

        Assert.Equal("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", result.Signature);
    }

    [Fact]
    public void Sign_TimeWithNonZeroOffset_SignsTheSameUtcInstant()
    {
        var signer = new SigV4Signer("us-east-1", "service");
        var credentials = new AwsCredentials(AccessKeyId, Secret);

        var utc = signer.Sign(Vanilla("POST"), credentials, SuiteTime);
        var plusTwo = signer.Sign(Vanilla("POST"), credentials, SuiteTime.ToOffset(TimeSpan.FromHours(2)));

        Assert.Equal(utc.Signature, plusTwo.Signature);
        Assert.Equal("20150830T123600Z", plusTwo.AmzDate);
    }

    [Fact]
    public void DeriveSigningKey_AwsDocumentationExample_MatchesPublishedKey()
    {
        // AWS General Reference, "Examples of how to derive a signing key for Signature Version 4" (iam, 20120215).
        var key = SigV4Signer.DeriveSigningKey(Secret, "20120215", "us-east-1", "iam");

        Assert.Equal("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d", Convert.ToHexStringLower(key));
    }

    [Fact]
    public void GetSigningKey_SameCredentialsAndDate_ReturnsCachedKeyEqualToAFreshDerivation()
    {
        var signer = new SigV4Signer("us-east-1", "service");
        var credentials = new AwsCredentials(AccessKeyId, Secret);

        var first = signer.GetSigningKey(credentials, "20150830");
        var second = signer.GetSigningKey(credentials, "20150830");

        Assert.Same(first, second);
        Assert.Equal(SigV4Signer.DeriveSigningKey(Secret, "20150830", "us-east-1", "service"), first);
    }

    [Fact]
    public void GetSigningKey_OtherDateOrRotatedCredentials_DerivesAgainWithEqualResultsForEqualInputs()
    {
        var signer = new SigV4Signer("us-east-1", "service");
        var credentials = new AwsCredentials(AccessKeyId, Secret);
        var day1 = signer.GetSigningKey(credentials, "20150830");

        var day2 = signer.GetSigningKey(credentials, "20150831");
        var day1Again = signer.GetSigningKey(credentials, "20150830");
        var rotated = signer.GetSigningKey(new AwsCredentials(AccessKeyId, "another/secret+KEY"), "20150830");

        Assert.NotEqual(day1, day2);
        Assert.Equal(day1, day1Again);
        Assert.NotEqual(day1, rotated);
        Assert.Equal(SigV4Signer.DeriveSigningKey("another/secret+KEY", "20150830", "us-east-1", "service"), rotated);
    }

    [Fact]
    public void Sign_SameInputTwice_ReturnsEqualResults()
    {
        var signer = new SigV4Signer("eu-west-1", "timestream");
        var credentials = new AwsCredentials(AccessKeyId, Secret, Token);

        var first = signer.Sign(Vanilla("POST"), credentials, SuiteTime);
        var second = signer.Sign(Vanilla("POST"), credentials, SuiteTime);

        Assert.Equal(first.CanonicalRequest, second.CanonicalRequest);
        Assert.Equal(first.Authorization, second.Authorization);
    }

    [Fact]
    public void Sign_TimestreamWithSessionToken_ScopesToSigningNameAndSignsTheToken()
    {
        var signer = new SigV4Signer("eu-west-1", "timestream");
        var request = Vanilla(
            "POST",
            new("Content-Type", "application/x-amz-json-1.0"),
            new("X-Amz-Target", "Timestream_20181101.DescribeEndpoints"));

        var result = signer.Sign(request, new AwsCredentials(AccessKeyId, Secret, Token), SuiteTime);

        Assert.Equal("20150830/eu-west-1/timestream/aws4_request", result.CredentialScope);
        Assert.Equal("content-type;host;x-amz-date;x-amz-security-token;x-amz-target", result.SignedHeaders);
        Assert.Contains("x-amz-security-token:" + Token + "\n", result.CanonicalRequest, StringComparison.Ordinal);
        Assert.Equal(["X-Amz-Security-Token", "X-Amz-Date", "Authorization"], result.HeadersToAdd.Select(h => h.Key));
    }

    [Fact]
    public void Sign_HopByHopAndUserAgentHeaders_AreNotSigned()
    {
        var request = Vanilla("GET", new("User-Agent", "flotel/1.0"), new("Connection", "keep-alive"), new("X-Custom", "a"));

        var result = new SigV4Signer("us-east-1", "es").Sign(request, new AwsCredentials(AccessKeyId, Secret), SuiteTime);

        Assert.Equal("host;x-amz-date;x-custom", result.SignedHeaders);
    }

    [Theory]
    [InlineData("Authorization")]
    [InlineData("x-amz-date")]
    public void Sign_RequestAlreadyCarriesAHeaderTheSignerAdds_Throws(string header)
    {
        var request = Vanilla("GET", new KeyValuePair<string, string>(header, "x"));

        var error = Assert.Throws<ArgumentException>(
            () => new SigV4Signer("us-east-1", "es").Sign(request, new AwsCredentials(AccessKeyId, Secret), SuiteTime));

        Assert.Contains(header.ToLowerInvariant(), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sign_PathAlreadyPercentEncoded_IsEncodedTwiceForNonS3AndOnceForS3Options()
    {
        var request = new SigV4Request("GET", "/my%20index/_doc", "", [new("Host", "h")], SigV4Request.EmptyPayloadHash);
        var credentials = new AwsCredentials(AccessKeyId, Secret);

        var es = new SigV4Signer("us-east-1", "es").Sign(request, credentials, SuiteTime);
        var s3 = new SigV4Signer("us-east-1", "s3", new SigV4SignerOptions { EncodePath = false, NormalizePath = false })
            .Sign(request, credentials, SuiteTime);

        Assert.StartsWith("GET\n/my%2520index/_doc\n", es.CanonicalRequest, StringComparison.Ordinal);
        Assert.StartsWith("GET\n/my%20index/_doc\n", s3.CanonicalRequest, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(604801)]
    public void Presign_ExpiryOutsideOneSecondToSevenDays_Throws(int seconds)
    {
        Assert.Throws<ArgumentOutOfRangeException>(
            () => new SigV4Signer("us-east-1", "service")
                .Presign(Vanilla("GET"), new AwsCredentials(AccessKeyId, Secret), SuiteTime, TimeSpan.FromSeconds(seconds)));
    }

    [Fact]
    public void Credentials_ToString_MasksSecretAndToken()
    {
        var text = new AwsCredentials(AccessKeyId, Secret, Token).ToString();

        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, text, StringComparison.Ordinal);
        Assert.Contains("***", text, StringComparison.Ordinal);
        Assert.Contains(AccessKeyId, text, StringComparison.Ordinal);
    }

    [Fact]
    public void SignerErrors_WithSecretCredentials_NeverQuoteTheSecretOrToken()
    {
        var credentials = new AwsCredentials(AccessKeyId, Secret, Token);
        var signer = new SigV4Signer("us-east-1", "service");
        var noHost = new SigV4Request("GET", "/", "", [new("X-A", "b")], SigV4Request.EmptyPayloadHash);
        var withToken = Vanilla("GET", new KeyValuePair<string, string>("X-Amz-Security-Token", Token));

        var errors = new Exception[]
        {
            Assert.Throws<ArgumentException>(() => signer.Sign(noHost, credentials, SuiteTime)),
            Assert.Throws<ArgumentException>(() => signer.Sign(withToken, credentials, SuiteTime)),
            Assert.Throws<ArgumentOutOfRangeException>(() => signer.Presign(Vanilla("GET"), credentials, SuiteTime, TimeSpan.Zero)),
            Assert.Throws<ArgumentException>(() => new AwsCredentials(AccessKeyId, "")),
            Assert.Throws<ArgumentException>(() => new AwsCredentials("", Secret, Token)),
        };

        foreach (var error in errors)
        {
            Assert.DoesNotContain(Secret, error.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(Token, error.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Result_ToString_DoesNotPrintTheSignature()
    {
        var result = new SigV4Signer("us-east-1", "service").Sign(Vanilla("GET"), new AwsCredentials(AccessKeyId, Secret), SuiteTime);

        Assert.DoesNotContain(result.Signature, result.ToString(), StringComparison.Ordinal);
    }
}
