using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;
using Flotel.Wire.Aws;

namespace Flotel.Gateway.Outputs.Shared;

/// <summary>
/// The standard AWS credential chain for outputs that sign with SigV4 (timestream, elasticsearch with AWS auth), as a
/// provider of the shape <c>Func&lt;CancellationToken, ValueTask&lt;AwsCredentials&gt;&gt;</c> (<see cref="GetAsync"/>).
/// <para>Resolution is delegated to the maintained AWS SDK for .NET (AWSSDK.Core's
/// <c>DefaultAWSCredentialsIdentityResolver</c>, AWS SDK for .NET V4 developer guide, "Credential and profile
/// resolution"), first match wins:</para>
/// <list type="number">
/// <item>environment: <c>AWS_ACCESS_KEY_ID</c> + <c>AWS_SECRET_ACCESS_KEY</c> (+ <c>AWS_SESSION_TOKEN</c>);</item>
/// <item>web identity: <c>AWS_WEB_IDENTITY_TOKEN_FILE</c> + <c>AWS_ROLE_ARN</c> (+ <c>AWS_ROLE_SESSION_NAME</c>) →
/// STS <c>AssumeRoleWithWebIdentity</c> (EKS service accounts; needs AWSSDK.SecurityToken, referenced for that);</item>
/// <item>shared files: profile <c>AWS_PROFILE</c> (else <c>default</c>) in <c>AWS_SHARED_CREDENTIALS_FILE</c> (default
/// <c>~/.aws/credentials</c>) and <c>AWS_CONFIG_FILE</c> (default <c>~/.aws/config</c>), with the SDK's profile
/// features (<c>role_arn</c> + <c>source_profile</c>, <c>credential_process</c>, SSO);</item>
/// <item>container credentials (ECS/EKS Pod Identity), then EC2 instance metadata (off with
/// <c>AWS_EC2_METADATA_DISABLED=true</c>).</item>
/// </list>
/// With an explicit <c>profile</c> only that profile of the shared files is used.
/// <para>Caching: the chain is resolved once (again after a failure, so a file mounted later is found); temporary
/// credentials (STS, container, instance) are cached by the SDK and refreshed before they expire; the
/// <see cref="AwsCredentials"/> handed out stays the same instance until the SDK's credentials change, which keeps
/// <see cref="SigV4Signer"/>'s signing-key cache valid.</para>
/// </summary>
/// <remarks>
/// Why the SDK and not our own: the chain has many details (profile inheritance, SSO, credential_process, container
/// and instance endpoints, refresh windows) that the SDK maintains; its cost is two assemblies (~3 MB). What the SDK
/// does not give — an injectable environment — is why the tests set process variables in a serial collection. The SDK
/// also keeps the shared-file locations it first resolved for the life of the process (it re-reads their content, so a
/// rotated, mounted ~/.aws/credentials is picked up): variables are read at startup, as for any AWS SDK program.
/// </remarks>
public sealed class AwsCredentialChain : IDisposable
{
    private readonly string? _profile;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly DefaultAWSCredentialsIdentityResolver _resolver = new();

    /// <summary>The SDK credentials the chain resolved to (null until resolved, or after a resolution failed).</summary>
    private volatile AWSCredentials? _source;

    /// <summary>The last SDK answer and the Flotel credentials made from it, swapped as one object.</summary>
    private volatile Converted? _last;

    /// <param name="profile">Use only this profile of the shared files; null for the whole chain.</param>
    public AwsCredentialChain(string? profile = null) => _profile = string.IsNullOrEmpty(profile) ? null : profile;

    /// <summary>Where the credentials come from (the SDK's credentials type), once resolved; for messages.</summary>
    public string? Source => _source?.GetType().Name;

    /// <summary>A provider that always returns <paramref name="credentials"/> (tests, fixed keys).</summary>
    public static Func<CancellationToken, ValueTask<AwsCredentials>> Static(AwsCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        return _ => ValueTask.FromResult(credentials);
    }

    /// <summary>
    /// Current credentials. Throws <see cref="InvalidOperationException"/> with what was tried when none are found or
    /// they cannot be obtained (an output treats that as retryable: nothing is dropped while an operator fixes it).
    /// </summary>
    public async ValueTask<AwsCredentials> GetAsync(CancellationToken cancellationToken)
    {
        var source = _source ?? await ResolveAsync(cancellationToken).ConfigureAwait(false);
        ImmutableCredentials current;
        try
        {
            current = await source.GetCredentialsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonClientException e)
        {
            throw new InvalidOperationException($"AWS credentials from {source.GetType().Name} could not be obtained: {e.Message}", e);
        }

        var last = _last;
        if (last is not null && ReferenceEquals(last.Sdk, current))
        {
            return last.Flotel;
        }

        if (last is not null && last.Sdk.Equals(current))
        {
            // Same keys in a new SDK object (environment and profile credentials are re-read): keep our instance.
            _last = new Converted(current, last.Flotel);
            return last.Flotel;
        }

        var converted = new AwsCredentials(current.AccessKey, current.SecretKey, current.UseToken ? current.Token : null);
        _last = new Converted(current, converted);
        return converted;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _resolver.Dispose();
        _gate.Dispose();
    }

    private async ValueTask<AWSCredentials> ResolveAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_source is { } resolved)
            {
                return resolved;
            }

            AWSCredentials? source;
            if (_profile is not null)
            {
                if (!new CredentialProfileStoreChain().TryGetAWSCredentials(_profile, out source))
                {
                    throw new InvalidOperationException(
                        $"AWS profile '{_profile}' was not found in AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE (default ~/.aws/credentials, ~/.aws/config)");
                }
            }
            else
            {
                try
                {
                    source = await _resolver.ResolveIdentityAsync(null, cancellationToken).ConfigureAwait(false);
                }
                catch (AmazonClientException e)
                {
                    throw new InvalidOperationException(
                        "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_WEB_IDENTITY_TOKEN_FILE and " +
                        "AWS_ROLE_ARN, or a profile in AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE (AWS_PROFILE, default ~/.aws) (" + e.Message + ")", e);
                }
            }

            _source = source;
            return source;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>One SDK answer and our copy of it.</summary>
    private sealed record Converted(ImmutableCredentials Sdk, AwsCredentials Flotel);
}
