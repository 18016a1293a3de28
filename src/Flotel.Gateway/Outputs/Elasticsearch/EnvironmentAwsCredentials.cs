using Flotel.Wire.Aws;

namespace Flotel.Gateway.Outputs.Elasticsearch;

/// <summary>
/// The default credential source of the SigV4-signed output: <c>AWS_ACCESS_KEY_ID</c>, <c>AWS_SECRET_ACCESS_KEY</c>
/// and optionally <c>AWS_SESSION_TOKEN</c>, read on every call (the AWS CLI/SDK environment convention). The gateway's
/// full credential chain (profiles, web identity) can be passed to <see cref="ElasticsearchOutput"/> instead.
/// </summary>
public static class EnvironmentAwsCredentials
{
    /// <summary>Reads the process environment; throws when the key pair is not set (the driver retries, nothing is lost).</summary>
    public static ValueTask<AwsCredentials> ResolveAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(Read(Environment.GetEnvironmentVariable));

    /// <summary>Reads <paramref name="environment"/>.</summary>
    /// <exception cref="InvalidOperationException">The key id or secret is not set.</exception>
    public static AwsCredentials Read(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var id = environment("AWS_ACCESS_KEY_ID");
        var secret = environment("AWS_SECRET_ACCESS_KEY");
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(secret))
        {
            throw new InvalidOperationException("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)");
        }

        var token = environment("AWS_SESSION_TOKEN");
        return new AwsCredentials(id, secret, string.IsNullOrEmpty(token) ? null : token);
    }
}
