using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Flotel.Wire.Aws;

/// <summary>
/// AWS Signature Version 4 (<c>AWS4-HMAC-SHA256</c>) for one region and service, e.g. (<c>eu-west-1</c>,
/// <c>timestream</c>) or (<c>eu-west-1</c>, <c>es</c>). No I/O, no clock: the caller passes the signing time.
/// Thread-safe.
/// </summary>
/// <remarks>
/// The four tasks (AWS IAM User Guide, "Signature Version 4 signing process"):
/// <code>
/// canonical request = METHOD \n canonical URI \n canonical query \n canonical headers \n signed headers \n payload hash
/// string to sign    = AWS4-HMAC-SHA256 \n yyyyMMddTHHmmssZ \n yyyyMMdd/region/service/aws4_request \n hex(SHA256(canonical request))
/// signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, yyyyMMdd), region), service), "aws4_request")
/// signature         = hex(HMAC(signing key, string to sign))
/// </code>
/// Checked against every case of the aws-c-auth v4 suite (tests/Flotel.Wire.Tests/Data/Aws/sigv4).
/// </remarks>
public sealed class SigV4Signer
{
    /// <summary>The SigV4 algorithm name.</summary>
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>The longest lifetime SigV4 allows for a presigned request: seven days.</summary>
    public static readonly TimeSpan MaxPresignedExpiry = TimeSpan.FromDays(7);

    private const string Terminator = "aws4_request";

    /// <summary>
    /// Headers never signed: hop-by-hop headers (RFC 9110 §7.6.1) and headers proxies or HTTP stacks rewrite
    /// (user-agent, x-amzn-trace-id). Signing them would make an otherwise valid request fail verification;
    /// AWS SDKs leave them out for the same reason.
    /// </summary>
    private static readonly HashSet<string> Unsignable = new(StringComparer.Ordinal)
    {
        "connection", "expect", "keep-alive", "proxy-authorization", "te", "trailer", "transfer-encoding",
        "upgrade", "user-agent", "x-amzn-trace-id",
    };

    private readonly SigV4SignerOptions _options;

    /// <summary>
    /// The last derived signing key. Written by any signing thread (a reference swap), read by all; valid for one
    /// credentials instance and one UTC day, since region and service are fixed per signer. One entry is enough:
    /// a signer signs for one identity at a time, and the key changes once a day.
    /// </summary>
    private volatile SigningKeyEntry? _cachedKey;

    /// <summary>Creates a signer for a region and a signing name.</summary>
    /// <param name="region">The region, e.g. <c>us-east-1</c>.</param>
    /// <param name="service">The signing name (not the endpoint prefix): <c>timestream</c>, <c>es</c>, …</param>
    /// <param name="options">Canonicalisation options; <see langword="null"/> for <see cref="SigV4SignerOptions.Default"/>.</param>
    public SigV4Signer(string region, string service, SigV4SignerOptions? options = null)
    {
        ValidateScopePart(region, nameof(region));
        ValidateScopePart(service, nameof(service));
        Region = region;
        Service = service;
        _options = options ?? SigV4SignerOptions.Default;
    }

    /// <summary>The region in the credential scope.</summary>
    public string Region { get; }

    /// <summary>The service (signing name) in the credential scope.</summary>
    public string Service { get; }

    /// <summary>Lowercase hex SHA-256 of a payload, the last line of the canonical request.</summary>
    public static string HashPayload(ReadOnlySpan<byte> payload)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(payload, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>
    /// Signs with the <c>Authorization</c> header. The caller adds <see cref="SigV4Result.HeadersToAdd"/> to the
    /// request and must send the signed headers, path, query and body unchanged.
    /// </summary>
    /// <exception cref="ArgumentException">The request lacks <c>Host</c> or already carries a header the signer adds.</exception>
    public SigV4Result Sign(SigV4Request request, AwsCredentials credentials, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(credentials);
        var (amzDate, date) = FormatTime(time);
        var scope = CredentialScope(date);
        var token = credentials.SessionToken;

        var headers = new List<KeyValuePair<string, string>>(request.Headers.Count + 3);
        foreach (var header in request.Headers)
        {
            headers.Add(header);
        }

        RejectPresent(request.Headers, "authorization");
        RejectPresent(request.Headers, "x-amz-date");
        if (token is not null)
        {
            RejectPresent(request.Headers, "x-amz-security-token");
            if (!_options.OmitSessionTokenFromSignature)
            {
                headers.Add(new("x-amz-security-token", token));
            }
        }

        headers.Add(new("x-amz-date", amzDate));
        if (_options.AddContentSha256Header)
        {
            RejectPresent(request.Headers, "x-amz-content-sha256");
            headers.Add(new("x-amz-content-sha256", request.PayloadHash));
        }

        var canonicalQuery = SigV4Canonical.CanonicalQuery(SigV4Canonical.EncodedQueryParameters(request.Query));
        var (canonicalHeaders, signedHeaders) = CanonicalHeaders(headers);
        var canonicalRequest = CanonicalRequest(request, canonicalQuery, canonicalHeaders, signedHeaders);
        var stringToSign = StringToSign(amzDate, scope, canonicalRequest);
        var signature = Signature(credentials, date, stringToSign);
        var authorization = string.Create(
            CultureInfo.InvariantCulture,
            $"{Algorithm} Credential={credentials.AccessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}");

        // Order as in the suite's header-signed-request.txt: token, date, content hash, authorization.
        var toAdd = new List<KeyValuePair<string, string>>(4);
        if (token is not null)
        {
            toAdd.Add(new("X-Amz-Security-Token", token));
        }

        toAdd.Add(new("X-Amz-Date", amzDate));
        if (_options.AddContentSha256Header)
        {
            toAdd.Add(new("X-Amz-Content-Sha256", request.PayloadHash));
        }

        toAdd.Add(new("Authorization", authorization));
        return new SigV4Result(
            canonicalRequest, stringToSign, signature, signedHeaders, scope, amzDate, authorization, toAdd, []);
    }

    /// <summary>
    /// Presigns with query parameters (a presigned URL valid for <paramref name="expires"/>). The caller appends
    /// <see cref="SigV4Result.QueryParametersToAdd"/> to the query (<see cref="SigV4Result.AppendQueryParameters"/>).
    /// The payload hash is signed as given; pass <c>UNSIGNED-PAYLOAD</c> where the service allows it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="expires"/> is not between 1 s and 7 days.</exception>
    public SigV4Result Presign(SigV4Request request, AwsCredentials credentials, DateTimeOffset time, TimeSpan expires)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(credentials);
        if (expires < TimeSpan.FromSeconds(1) || expires > MaxPresignedExpiry)
        {
            throw new ArgumentOutOfRangeException(nameof(expires), "A presigned request must expire after 1 second to 7 days.");
        }

        var (amzDate, date) = FormatTime(time);
        var scope = CredentialScope(date);
        var token = credentials.SessionToken;
        var (canonicalHeaders, signedHeaders) = CanonicalHeaders(request.Headers);

        // Order as in the suite's query-signed-request.txt; the canonical query sorts them anyway.
        var toAdd = new List<KeyValuePair<string, string>>(7)
        {
            new("X-Amz-Algorithm", Algorithm),
            new("X-Amz-Credential", SigV4Canonical.UriEncode(credentials.AccessKeyId + "/" + scope)),
            new("X-Amz-Date", amzDate),
            new("X-Amz-SignedHeaders", SigV4Canonical.UriEncode(signedHeaders)),
            new("X-Amz-Expires", ((long)expires.TotalSeconds).ToString(CultureInfo.InvariantCulture)),
        };
        if (token is not null)
        {
            toAdd.Add(new("X-Amz-Security-Token", SigV4Canonical.UriEncode(token)));
        }

        var parameters = SigV4Canonical.EncodedQueryParameters(request.Query);
        foreach (var parameter in toAdd)
        {
            if (!(_options.OmitSessionTokenFromSignature && parameter.Key == "X-Amz-Security-Token"))
            {
                parameters.Add(parameter);
            }
        }

        var canonicalQuery = SigV4Canonical.CanonicalQuery(parameters);
        var canonicalRequest = CanonicalRequest(request, canonicalQuery, canonicalHeaders, signedHeaders);
        var stringToSign = StringToSign(amzDate, scope, canonicalRequest);
        var signature = Signature(credentials, date, stringToSign);
        toAdd.Add(new("X-Amz-Signature", signature));
        return new SigV4Result(
            canonicalRequest, stringToSign, signature, signedHeaders, scope, amzDate, authorization: null, [], toAdd);
    }

    /// <summary>
    /// The signing key for a credentials instance and a UTC date (<c>yyyyMMdd</c>), from the one-entry cache when
    /// it matches. The returned array is shared: do not modify it.
    /// </summary>
    internal byte[] GetSigningKey(AwsCredentials credentials, string date)
    {
        var entry = _cachedKey;
        if (entry is not null && ReferenceEquals(entry.Credentials, credentials) && entry.Date == date)
        {
            return entry.Key;
        }

        var key = DeriveSigningKey(credentials.SecretAccessKey, date, Region, Service);
        _cachedKey = new SigningKeyEntry(credentials, date, key);
        return key;
    }

    /// <summary>kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").</summary>
    internal static byte[] DeriveSigningKey(string secretAccessKey, string date, string region, string service)
    {
        var secret = Encoding.UTF8.GetBytes("AWS4" + secretAccessKey);
        // Two buffers alternate so that no HMAC writes over its own key.
        Span<byte> a = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Span<byte> b = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(date), a);
        CryptographicOperations.ZeroMemory(secret);
        HMACSHA256.HashData(a, Encoding.UTF8.GetBytes(region), b);
        HMACSHA256.HashData(b, Encoding.UTF8.GetBytes(service), a);
        HMACSHA256.HashData(a, Encoding.UTF8.GetBytes(Terminator), b);
        var key = b.ToArray();
        CryptographicOperations.ZeroMemory(a);
        CryptographicOperations.ZeroMemory(b);
        return key;
    }

    private string CredentialScope(string date) => $"{date}/{Region}/{Service}/{Terminator}";

    private string CanonicalRequest(SigV4Request request, string canonicalQuery, string canonicalHeaders, string signedHeaders)
    {
        var canonicalUri = SigV4Canonical.CanonicalUri(request.Path, _options.NormalizePath, _options.EncodePath);
        return new StringBuilder(256)
            .Append(request.Method).Append('\n')
            .Append(canonicalUri).Append('\n')
            .Append(canonicalQuery).Append('\n')
            .Append(canonicalHeaders).Append('\n')
            .Append(signedHeaders).Append('\n')
            .Append(request.PayloadHash)
            .ToString();
    }

    private static string StringToSign(string amzDate, string scope, string canonicalRequest)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest), hash);
        return $"{Algorithm}\n{amzDate}\n{scope}\n{Convert.ToHexStringLower(hash)}";
    }

    private string Signature(AwsCredentials credentials, string date, string stringToSign)
    {
        var key = GetSigningKey(credentials, date);
        Span<byte> signature = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign), signature);
        return Convert.ToHexStringLower(signature);
    }

    /// <summary>
    /// Canonical headers (each <c>name:value\n</c>) and the signed header list. Names are lowercased and sorted;
    /// values of a repeated name are joined with <c>,</c> in the order they appear (suite cases
    /// <c>get-header-key-duplicate</c>, <c>get-header-value-order</c>).
    /// </summary>
    private static (string Canonical, string Signed) CanonicalHeaders(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var byName = new SortedDictionary<string, StringBuilder>(StringComparer.Ordinal);
        var hasHost = false;
        foreach (var (name, value) in headers)
        {
            if (name.Length == 0 || name.AsSpan().ContainsAny(" \t\r\n:"))
            {
                throw new ArgumentException("A header name is empty or contains whitespace or ':'.", nameof(headers));
            }

            var lower = name.ToLowerInvariant();
            hasHost |= lower == "host";
            if (Unsignable.Contains(lower))
            {
                continue;
            }

            var canonicalValue = SigV4Canonical.CanonicalHeaderValue(value ?? string.Empty);
            if (byName.TryGetValue(lower, out var existing))
            {
                existing.Append(',').Append(canonicalValue);
            }
            else
            {
                byName.Add(lower, new StringBuilder(canonicalValue));
            }
        }

        if (!hasHost)
        {
            // SigV4 requires Host to be signed (HTTP/2 :authority counts as host).
            throw new ArgumentException("The request must carry a Host header to be signed.", nameof(headers));
        }

        var canonical = new StringBuilder(256);
        var signed = new StringBuilder(64);
        foreach (var (name, value) in byName)
        {
            canonical.Append(name).Append(':').Append(value).Append('\n');
            if (signed.Length > 0)
            {
                signed.Append(';');
            }

            signed.Append(name);
        }

        return (canonical.ToString(), signed.ToString());
    }

    private static void RejectPresent(IReadOnlyList<KeyValuePair<string, string>> headers, string lowerName)
    {
        foreach (var header in headers)
        {
            if (string.Equals(header.Key, lowerName, StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"The request already has a '{lowerName}' header, which the signer adds.", nameof(headers));
            }
        }
    }

    private static (string AmzDate, string Date) FormatTime(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        return (utc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture),
            utc.ToString("yyyyMMdd", CultureInfo.InvariantCulture));
    }

    private static void ValidateScopePart(string value, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(value, name);
        if (value.AsSpan().ContainsAny("/ \t\r\n"))
        {
            throw new ArgumentException($"The {name} must not contain '/' or whitespace.", name);
        }
    }

    /// <summary>One cached signing key: immutable, replaced as a whole.</summary>
    private sealed class SigningKeyEntry(AwsCredentials credentials, string date, byte[] key)
    {
        public AwsCredentials Credentials { get; } = credentials;

        public string Date { get; } = date;

        public byte[] Key { get; } = key;
    }
}
