using System.Globalization;
using System.Text;
using System.Text.Json;
using Flotel.Wire.Aws;

namespace Flotel.Wire.Tests.Aws;

/// <summary>
/// One folder of the aws-c-auth v4 signing suite (Data/Aws/sigv4, see its README): the parsed request, the
/// signing context and the expected files.
/// </summary>
internal sealed class SigV4SuiteCase
{
    /// <summary>Every key <c>context.json</c> may hold; an unknown key fails the case instead of being ignored.</summary>
    private static readonly HashSet<string> KnownContextKeys = new(StringComparer.Ordinal)
    {
        "credentials", "expiration_in_seconds", "normalize", "region", "service", "sign_body", "timestamp",
        "omit_session_token",
    };

    private SigV4SuiteCase(string name, string directory)
    {
        Name = name;
        Directory = directory;
    }

    public static string Root => Path.Combine(AppContext.BaseDirectory, "Data", "Aws", "sigv4");

    public static IReadOnlyList<string> AllNames
    {
        get
        {
            var names = System.IO.Directory.GetDirectories(Root).Select(d => Path.GetFileName(d)!).ToList();
            names.Sort(StringComparer.Ordinal);
            return names;
        }
    }

    public string Name { get; }

    public string Directory { get; }

    public RawHttpRequest Request { get; private set; } = null!;

    public AwsCredentials Credentials { get; private set; } = null!;

    public string Region { get; private set; } = "";

    public string Service { get; private set; } = "";

    public DateTimeOffset Timestamp { get; private set; }

    public TimeSpan Expiration { get; private set; }

    public bool Normalize { get; private set; }

    public bool SignBody { get; private set; }

    public bool OmitSessionToken { get; private set; }

    public SigV4SignerOptions Options => new()
    {
        NormalizePath = Normalize,
        AddContentSha256Header = SignBody,
        OmitSessionTokenFromSignature = OmitSessionToken,
    };

    public static SigV4SuiteCase Load(string name)
    {
        var directory = Path.Combine(Root, name);
        var suiteCase = new SigV4SuiteCase(name, directory);
        suiteCase.Request = RawHttpRequest.Parse(suiteCase.Read("request.txt"));

        using var context = JsonDocument.Parse(suiteCase.Read("context.json"));
        var root = context.RootElement;
        foreach (var property in root.EnumerateObject())
        {
            Assert.True(KnownContextKeys.Contains(property.Name), $"{name}: unknown context.json key '{property.Name}'");
        }

        var credentials = root.GetProperty("credentials");
        suiteCase.Credentials = new AwsCredentials(
            credentials.GetProperty("access_key_id").GetString()!,
            credentials.GetProperty("secret_access_key").GetString()!,
            credentials.TryGetProperty("token", out var token) ? token.GetString() : null);
        suiteCase.Region = root.GetProperty("region").GetString()!;
        suiteCase.Service = root.GetProperty("service").GetString()!;
        suiteCase.Timestamp = DateTimeOffset.ParseExact(
            root.GetProperty("timestamp").GetString()!,
            "yyyy-MM-dd'T'HH:mm:ss'Z'",
            CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal);
        suiteCase.Expiration = TimeSpan.FromSeconds(root.GetProperty("expiration_in_seconds").GetInt32());
        suiteCase.Normalize = root.GetProperty("normalize").GetBoolean();
        suiteCase.SignBody = root.GetProperty("sign_body").GetBoolean();
        suiteCase.OmitSessionToken = root.TryGetProperty("omit_session_token", out var omit) && omit.GetBoolean();
        return suiteCase;
    }

    public string Read(string file) => File.ReadAllText(Path.Combine(Directory, file), Encoding.UTF8);

    /// <summary>The request as the signer sees it: wire path and query, headers verbatim, SHA-256 of the body.</summary>
    public SigV4Request ToSigV4Request()
        => new(
            Request.Method,
            Request.Path,
            Request.Query,
            Request.Headers,
            SigV4Signer.HashPayload(Encoding.UTF8.GetBytes(Request.Body)));
}
