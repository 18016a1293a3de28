using Flotel.Model;

namespace Flotel.Gateway.Configuration;

/// <summary>
/// HTTP credentials for one group of endpoints: basic (the blog's <c>LOGSTASH_USERNAME</c>/<c>LOGSTASH_PASSWORD</c>) or
/// a bearer token. Secrets are <see cref="SecretValue"/>s, which never print.
/// </summary>
public sealed class AuthOptions
{
    /// <summary>Basic-auth user name; set together with <see cref="Password"/>.</summary>
    public string? Username { get; init; }

    /// <summary>Basic-auth password.</summary>
    public SecretValue? Password { get; init; }

    /// <summary>Bearer token, as an alternative to basic auth.</summary>
    public SecretValue? BearerToken { get; init; }
}
