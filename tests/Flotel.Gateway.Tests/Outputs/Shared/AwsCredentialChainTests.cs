using System.Collections.Concurrent;
using System.Net;
using Flotel.Gateway.Outputs.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Tests.Outputs.Shared;

[CollectionDefinition(nameof(AwsEnvironmentCollection), DisableParallelization = true)]
public sealed class AwsEnvironmentCollection;

/// <summary>
/// The chain reads the process environment (the AWS SDK has no injectable environment), so these tests run alone and
/// restore every variable they touch; HOME points to an empty temp directory so a developer's ~/.aws is never read,
/// and instance metadata is off so nothing leaves loopback. The SDK keeps the shared-file locations it saw first for
/// the life of the process (it re-reads their content), so every test uses the same paths: HOME/.aws/credentials and
/// HOME/.aws/config, given through the variables or found as the defaults.
/// </summary>
[Collection(nameof(AwsEnvironmentCollection))]
public sealed class AwsCredentialChainTests : IDisposable
{
    private static readonly string[] Variables =
    [
        "HOME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
        "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_EC2_METADATA_DISABLED",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    ];

    private readonly Dictionary<string, string?> _saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
    private static readonly string Home = Path.Combine(Path.GetTempPath(), "flotel-aws-tests-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
    private static readonly string CredentialsFile = Path.Combine(Home, ".aws", "credentials");
    private static readonly string ConfigFile = Path.Combine(Home, ".aws", "config");
    private readonly DirectoryInfo _dir;

    public AwsCredentialChainTests()
    {
        if (Directory.Exists(Home))
        {
            Directory.Delete(Home, recursive: true);
        }

        _dir = Directory.CreateDirectory(Home);
        Directory.CreateDirectory(Path.Combine(Home, ".aws"));
        foreach (var variable in Variables)
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        Environment.SetEnvironmentVariable("HOME", Home);
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
    }

    public void Dispose()
    {
        foreach (var (variable, value) in _saved)
        {
            Environment.SetEnvironmentVariable(variable, value);
        }

        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task Chain_EnvironmentVariables_AreUsedFirst()
    {
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "AKIDENV");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "env-secret");
        Environment.SetEnvironmentVariable("AWS_SESSION_TOKEN", "env-token");
        Environment.SetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE", Write(CredentialsFile, "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file-secret\n"));
        using var chain = new AwsCredentialChain();

        var credentials = await chain.GetAsync(CancellationToken.None);

        Assert.Equal(("AKIDENV", "env-token"), (credentials.AccessKeyId, credentials.SessionToken));
        Assert.Same(credentials, await chain.GetAsync(CancellationToken.None));
        Assert.DoesNotContain("env-secret", credentials.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chain_SharedCredentialsFileAndProfile_UsesTheNamedProfile()
    {
        Environment.SetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE", Write(CredentialsFile,
            "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n[fleet]\naws_access_key_id = AKIDFLEET\naws_secret_access_key = s2\naws_session_token = fleet-token\n"));
        Environment.SetEnvironmentVariable("AWS_PROFILE", "fleet");
        using var chain = new AwsCredentialChain();

        var credentials = await chain.GetAsync(CancellationToken.None);

        Assert.Equal(("AKIDFLEET", "fleet-token"), (credentials.AccessKeyId, credentials.SessionToken));
    }

    [Fact]
    public async Task Chain_DefaultProfileInHomeDirectory_IsFound()
    {
        Write(CredentialsFile, "[default]\naws_access_key_id = AKIDHOME\naws_secret_access_key = s\n");
        using var chain = new AwsCredentialChain();

        Assert.Equal("AKIDHOME", (await chain.GetAsync(CancellationToken.None)).AccessKeyId);
    }

    [Fact]
    public async Task Chain_ConfigFileProfile_IsFoundThroughAwsConfigFile()
    {
        Environment.SetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE", CredentialsFile);
        Environment.SetEnvironmentVariable("AWS_CONFIG_FILE", Write(ConfigFile, "[profile edge]\nregion = eu-central-1\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = s\n"));
        using var chain = new AwsCredentialChain(profile: "edge");

        Assert.Equal("AKIDCONFIG", (await chain.GetAsync(CancellationToken.None)).AccessKeyId);
    }

    [Fact]
    public async Task Chain_ExplicitProfileMissing_FailsNamingTheProfileAndFiles()
    {
        using var chain = new AwsCredentialChain(profile: "nope");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await chain.GetAsync(CancellationToken.None));
        Assert.Contains("'nope'", error.Message, StringComparison.Ordinal);
        Assert.Contains("AWS_SHARED_CREDENTIALS_FILE", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chain_NothingConfigured_FailsWithWhatToSet_ThenFindsCredentialsSetLater()
    {
        using var chain = new AwsCredentialChain();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await chain.GetAsync(CancellationToken.None));
        Assert.Contains("AWS_ACCESS_KEY_ID", error.Message, StringComparison.Ordinal);
        Assert.Contains("AWS_WEB_IDENTITY_TOKEN_FILE", error.Message, StringComparison.Ordinal);

        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "AKIDLATER");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "s");
        Assert.Equal("AKIDLATER", (await chain.GetAsync(CancellationToken.None)).AccessKeyId);
    }

    [Fact]
    public async Task Chain_WebIdentityToken_AssumesTheRoleThroughStsAndCachesUntilNearExpiry()
    {
        await using var sts = await FakeSts.StartAsync(TimeSpan.FromHours(2));
        Environment.SetEnvironmentVariable("AWS_WEB_IDENTITY_TOKEN_FILE", Write(Path.Combine(Home, "token"), "eyJ.web.identity"));
        Environment.SetEnvironmentVariable("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/flotel");
        Environment.SetEnvironmentVariable("AWS_ROLE_SESSION_NAME", "flotel-gateway");
        Environment.SetEnvironmentVariable("AWS_REGION", "eu-central-1");
        Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL_STS", sts.Url);
        using var chain = new AwsCredentialChain();

        var first = await chain.GetAsync(CancellationToken.None);
        var second = await chain.GetAsync(CancellationToken.None);

        Assert.Equal(("ASIAWEBIDENTITY", "web-session-token"), (first.AccessKeyId, first.SessionToken));
        Assert.Same(first, second);
        var call = Assert.Single(sts.Calls);
        Assert.Contains("Action=AssumeRoleWithWebIdentity", call, StringComparison.Ordinal);
        Assert.Contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fflotel", call, StringComparison.Ordinal);
        Assert.Contains("RoleSessionName=flotel-gateway", call, StringComparison.Ordinal);
        Assert.Contains("WebIdentityToken=eyJ.web.identity", call, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chain_WebIdentityCredentialsAboutToExpire_AreRefreshed()
    {
        await using var sts = await FakeSts.StartAsync(TimeSpan.FromMinutes(1));
        Environment.SetEnvironmentVariable("AWS_WEB_IDENTITY_TOKEN_FILE", Write(Path.Combine(Home, "token"), "eyJ.web.identity"));
        Environment.SetEnvironmentVariable("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/flotel");
        Environment.SetEnvironmentVariable("AWS_REGION", "eu-central-1");
        Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL_STS", sts.Url);
        using var chain = new AwsCredentialChain();

        await chain.GetAsync(CancellationToken.None);
        await chain.GetAsync(CancellationToken.None);

        Assert.Equal(2, sts.Calls.Count);
    }

    [Fact]
    public async Task Static_ReturnsTheGivenCredentials()
    {
        var credentials = new Flotel.Wire.Aws.AwsCredentials("AKID", "secret");
        Assert.Same(credentials, await AwsCredentialChain.Static(credentials)(CancellationToken.None));
    }

    private static string Write(string path, string text)
    {
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>STS AssumeRoleWithWebIdentity (Query protocol, XML answer; STS API reference) on 127.0.0.1.</summary>
    private sealed class FakeSts : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private FakeSts(WebApplication app, string url)
        {
            _app = app;
            Url = url;
        }

        public string Url { get; }

        public ConcurrentQueue<string> Calls { get; } = new();

        public static async Task<FakeSts> StartAsync(TimeSpan lifetime)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            FakeSts? self = null;
            app.Run(async context =>
            {
                using var reader = new StreamReader(context.Request.Body);
                self!.Calls.Enqueue(await reader.ReadToEndAsync());
                var expiration = DateTime.UtcNow.Add(lifetime).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
                context.Response.ContentType = "text/xml";
                await context.Response.WriteAsync($"""
                    <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
                      <AssumeRoleWithWebIdentityResult>
                        <Credentials><AccessKeyId>ASIAWEBIDENTITY</AccessKeyId><SecretAccessKey>web-secret</SecretAccessKey><SessionToken>web-session-token</SessionToken><Expiration>{expiration}</Expiration></Credentials>
                        <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/flotel/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
                      </AssumeRoleWithWebIdentityResult>
                      <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
                    </AssumeRoleWithWebIdentityResponse>
                    """);
            });
            await app.StartAsync();
            var address = app.Urls.First();
            self = new FakeSts(app, address);
            return self;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
