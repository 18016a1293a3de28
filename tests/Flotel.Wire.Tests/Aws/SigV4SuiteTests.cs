using Flotel.Wire.Aws;

namespace Flotel.Wire.Tests.Aws;

/// <summary>
/// Runs every case of the aws-c-auth v4 suite (Data/Aws/sigv4) in header and in query (presign) mode and compares
/// the canonical request, string to sign, signature and signed request exactly.
/// </summary>
public sealed class SigV4SuiteTests
{
    /// <summary>
    /// Cases that do not apply to Flotel, by name with the reason. Empty: all 38 cases apply and run. A case may
    /// only be excluded here (and in Data/Aws/sigv4/README.md), never by leaving it out silently.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> NotApplicable = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The suite at awslabs/aws-c-auth@495329c has 38 cases in v4/.</summary>
    private const int ExpectedCaseCount = 38;

    private static readonly string[] CaseFiles =
    [
        "context.json", "request.txt",
        "header-canonical-request.txt", "header-string-to-sign.txt", "header-signature.txt", "header-signed-request.txt",
        "query-canonical-request.txt", "query-string-to-sign.txt", "query-signature.txt", "query-signed-request.txt",
    ];

    public static TheoryData<string> Cases
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var name in SigV4SuiteCase.AllNames)
            {
                if (!NotApplicable.ContainsKey(name))
                {
                    data.Add(name);
                }
            }

            return data;
        }
    }

    [Fact]
    public void Suite_EveryCaseFolder_IsCompleteAndEitherRunOrListedAsNotApplicable()
    {
        var names = SigV4SuiteCase.AllNames;
        Assert.Equal(ExpectedCaseCount, names.Count);
        foreach (var name in names)
        {
            foreach (var file in CaseFiles)
            {
                Assert.True(File.Exists(Path.Combine(SigV4SuiteCase.Root, name, file)), $"{name}/{file} is missing");
            }
        }

        foreach (var name in NotApplicable.Keys)
        {
            Assert.Contains(name, names);
        }

        Assert.Equal(names.Count - NotApplicable.Count, Cases.Count);
        Assert.True(File.Exists(Path.Combine(SigV4SuiteCase.Root, "LICENSE")));
        Assert.True(File.Exists(Path.Combine(SigV4SuiteCase.Root, "NOTICE")));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sign_SuiteCase_MatchesEveryHeaderFile(string name)
    {
        var suiteCase = SigV4SuiteCase.Load(name);
        var signer = new SigV4Signer(suiteCase.Region, suiteCase.Service, suiteCase.Options);

        var result = signer.Sign(suiteCase.ToSigV4Request(), suiteCase.Credentials, suiteCase.Timestamp);

        Assert.Equal(suiteCase.Read("header-canonical-request.txt"), result.CanonicalRequest);
        Assert.Equal(suiteCase.Read("header-string-to-sign.txt"), result.StringToSign);
        Assert.Equal(suiteCase.Read("header-signature.txt"), result.Signature);
        var signed = RawHttpRequest.Parse(suiteCase.Read("header-signed-request.txt"));
        var authorization = Assert.Single(signed.Headers, h => h.Key == "Authorization").Value;
        Assert.Equal(authorization, result.Authorization);
        AssertSignedRequest(signed, suiteCase.Request, suiteCase.Request.Target, result.HeadersToAdd);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Presign_SuiteCase_MatchesEveryQueryFile(string name)
    {
        var suiteCase = SigV4SuiteCase.Load(name);
        var signer = new SigV4Signer(suiteCase.Region, suiteCase.Service, suiteCase.Options);

        var result = signer.Presign(suiteCase.ToSigV4Request(), suiteCase.Credentials, suiteCase.Timestamp, suiteCase.Expiration);

        Assert.Equal(suiteCase.Read("query-canonical-request.txt"), result.CanonicalRequest);
        Assert.Equal(suiteCase.Read("query-string-to-sign.txt"), result.StringToSign);
        Assert.Equal(suiteCase.Read("query-signature.txt"), result.Signature);
        Assert.Null(result.Authorization);
        var signed = RawHttpRequest.Parse(suiteCase.Read("query-signed-request.txt"));
        var target = suiteCase.Request.Path + "?" + result.AppendQueryParameters(suiteCase.Request.Query);
        AssertSignedRequest(signed, suiteCase.Request, target, []);
    }

    /// <summary>
    /// The expected signed request = the original request line (with <paramref name="target"/>), the original
    /// headers verbatim, then the added headers in order, then the body. Header names compare case-insensitively
    /// (HTTP field names are case-insensitive, RFC 9110 §5.1; the suite writes <c>x-amz-content-sha256</c> in
    /// lowercase); everything else exactly.
    /// </summary>
    private static void AssertSignedRequest(
        RawHttpRequest expected,
        RawHttpRequest original,
        string target,
        IReadOnlyList<KeyValuePair<string, string>> added)
    {
        Assert.Equal(expected.Method, original.Method);
        Assert.Equal(expected.Target, target);
        Assert.Equal(expected.Version, original.Version);
        var actual = original.Headers.Concat(added).ToList();
        Assert.Equal(expected.Headers.Count, actual.Count);
        for (var i = 0; i < actual.Count; i++)
        {
            Assert.Equal(expected.Headers[i].Key, actual[i].Key, ignoreCase: true);
            Assert.Equal(expected.Headers[i].Value, actual[i].Value);
        }

        Assert.Equal(expected.Body, original.Body);
    }
}
