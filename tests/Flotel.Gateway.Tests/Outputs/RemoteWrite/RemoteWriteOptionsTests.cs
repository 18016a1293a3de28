using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.RemoteWrite;

namespace Flotel.Gateway.Tests.Outputs.RemoteWrite;

public sealed class RemoteWriteOptionsTests : IDisposable
{
    private readonly TempDirectory _dir = new("flotel-rw-config-");

    public void Dispose() => _dir.Dispose();

    private (GatewayOptions Options, IReadOnlyList<ConfigDiagnostic> Diagnostics) Load(string yaml, Dictionary<string, string>? env = null)
    {
        var file = Path.Combine(_dir.Path, "gateway.yaml");
        File.WriteAllText(file, yaml);
        return GatewayConfigLoader.Load(file, name => env?.GetValueOrDefault(name));
    }

    [Fact]
    public void Read_FullEntry_GivesEveryValue()
    {
        var (options, diagnostics) = Load("""
            outputs:
              - name: thanos
                type: remote_write
                url: https://thanos.example:19291/api/v1/write
                maxSamplesPerSend: 500
                timeoutSeconds: 10
                minBackoffMs: 100
                maxBackoffSeconds: 5
                auth:
                  username: ${RW_USER}
                  password: ${RW_PASS}
                headers:
                  X-Scope-OrgID: fleet
            """, new() { ["RW_USER"] = "u", ["RW_PASS"] = "p" });

        Assert.Empty(diagnostics);
        var rw = Assert.IsType<RemoteWriteOptions>(Assert.Single(options.Outputs));
        Assert.Equal("thanos", rw.Name);
        Assert.Equal(new Uri("https://thanos.example:19291/api/v1/write"), rw.Http.Url);
        Assert.Equal(500, rw.MaxSamplesPerSend);
        Assert.Equal(TimeSpan.FromSeconds(10), rw.Http.Timeout);
        Assert.Equal(TimeSpan.FromMilliseconds(100), rw.Http.MinBackoff);
        Assert.Equal(TimeSpan.FromSeconds(5), rw.Http.MaxBackoff);
        Assert.Equal("u", rw.Http.Auth!.Username);
        Assert.Equal("***", rw.Http.Auth.Password!.ToString());
        Assert.Equal("fleet", rw.Http.Headers["X-Scope-OrgID"]);
    }

    [Fact]
    public void Read_DefaultsOnlyUrl_GivesPrometheusDefaults()
    {
        var (options, diagnostics) = Load("""
            outputs:
              - {name: vm, type: remote_write, url: "http://127.0.0.1:8428/api/v1/write"}
            """);

        Assert.Empty(diagnostics);
        var rw = Assert.IsType<RemoteWriteOptions>(Assert.Single(options.Outputs));
        Assert.Equal(2000, rw.MaxSamplesPerSend);
        Assert.Equal(TimeSpan.FromSeconds(30), rw.Http.Timeout);
        Assert.Null(rw.Http.Auth);
    }

    [Theory]
    [InlineData("url: ftp://x/", "outputs[0].url", "`url` must be an absolute http:// or https:// URL, got 'ftp://x/'")]
    [InlineData("maxSamplesPerSend: 0", "outputs[0].maxSamplesPerSend", "`maxSamplesPerSend` must be between 1 and 1000000, got 0")]
    [InlineData("headers: {Content-Encoding: gzip}", "outputs[0].headers.Content-Encoding", "header `Content-Encoding` is set by the output and cannot be overridden (use `auth` for credentials)")]
    [InlineData("auth: {username: a}", "outputs[0].auth", "`username` and `password` must both be set (and not empty)")]
    [InlineData("tls: {caFile: /no/such/ca.pem}", "outputs[0].tls.caFile", "file '/no/such/ca.pem' does not exist")]
    public void Read_BadValue_ReportsTheKeyAndWhy(string line, string field, string message)
    {
        var url = line.StartsWith("url:", StringComparison.Ordinal) ? string.Empty : "    url: http://127.0.0.1:9090/api/v1/write\n";
        var (_, diagnostics) = Load("outputs:\n  - name: p\n    type: remote_write\n" + url + "    " + line + "\n");

        var error = Assert.Single(diagnostics, d => d.IsError);
        Assert.Equal(field, error.FieldPath);
        Assert.Equal(message, error.Message);
        Assert.True(error.Line > 0);
    }

    [Fact]
    public void Read_WithoutUrl_IsAnError()
    {
        var (_, diagnostics) = Load("outputs:\n  - {name: p, type: remote_write}\n");

        var error = Assert.Single(diagnostics, d => d.IsError);
        Assert.Equal("outputs[0].url", error.FieldPath);
        Assert.Equal("`url` is required", error.Message);
    }
}
