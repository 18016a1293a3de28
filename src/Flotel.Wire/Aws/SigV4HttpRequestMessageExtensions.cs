using System.Globalization;

namespace Flotel.Wire.Aws;

/// <summary>
/// Signs an <see cref="HttpRequestMessage"/> in place with <see cref="SigV4Signer"/> (header signing). The only
/// place where the signer meets <c>System.Net.Http</c>; it reads the content to hash it but sends nothing.
/// </summary>
public static class SigV4HttpRequestMessageExtensions
{
    /// <summary>
    /// Hashes the content, signs method, URI, headers and payload, and adds <c>X-Amz-Date</c>, the session
    /// token, optionally <c>X-Amz-Content-Sha256</c>, and <c>Authorization</c> to <paramref name="request"/>.
    /// Sign last: a header added afterwards is not signed, and changing a signed one breaks the signature.
    /// </summary>
    /// <returns>The signing result (canonical request and string to sign, for diagnostics).</returns>
    public static async Task<SigV4Result> SignAsync(
        this SigV4Signer signer,
        HttpRequestMessage request,
        AwsCredentials credentials,
        DateTimeOffset time,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(credentials);
        var uri = request.RequestUri;
        if (uri is null || !uri.IsAbsoluteUri)
        {
            throw new ArgumentException("The request needs an absolute RequestUri to be signed.", nameof(request));
        }

        var payloadHash = SigV4Request.EmptyPayloadHash;
        if (request.Content is { } content)
        {
            // Buffers the content; ByteArrayContent (what Flotel's encoders produce) is read without copying twice.
            var body = await content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            payloadHash = SigV4Signer.HashPayload(body);
        }

        var headers = new List<KeyValuePair<string, string>>();
        var host = request.Headers.Host
            ?? (uri.IsDefaultPort ? uri.IdnHost : string.Create(CultureInfo.InvariantCulture, $"{uri.IdnHost}:{uri.Port}"));
        headers.Add(new("Host", host));

        // NonValidated yields each header as HttpClient will write it: one line, values joined with the
        // header's own separator. Signing the values one by one would join them with ',' instead.
        foreach (var (name, values) in request.Headers.NonValidated)
        {
            if (!string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase))
            {
                headers.Add(new(name, values.ToString()));
            }
        }

        if (request.Content is { } withHeaders)
        {
            // Reading ContentLength makes HttpContent compute and store it, so it is signed as it will be sent.
            _ = withHeaders.Headers.ContentLength;
            foreach (var (name, values) in withHeaders.Headers.NonValidated)
            {
                headers.Add(new(name, values.ToString()));
            }
        }

        var query = uri.Query.Length > 0 ? uri.Query[1..] : string.Empty;
        var signable = new SigV4Request(request.Method.Method, uri.AbsolutePath, query, headers, payloadHash);
        var result = signer.Sign(signable, credentials, time);
        foreach (var (name, value) in result.HeadersToAdd)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return result;
    }
}
