namespace Flotel.Cli.Tests;

public sealed class FlotelCliTests
{
    [Fact]
    public void Help_ListsEveryContractCommand()
    {
        var (code, output, _) = CliRunner.Run("--help");

        Assert.Equal(0, code);
        foreach (var command in new[] { "up", "gateway", "agent", "check", "logs", "metrics" })
        {
            Assert.Contains($"  {command}", output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("up", "--data", "--manifests", "--http", "--syslog")]
    [InlineData("gateway", "--config", "--data", "--http", "--syslog")]
    [InlineData("agent", "--manifests", "--gateway", "--token", "--device", "--data", "--podman-socket", "--node-exporter")]
    [InlineData("check", "--manifests", "--config")]
    [InlineData("logs", "--url", "--since", "--limit")]
    [InlineData("metrics", "--url", "--since")]
    public void CommandHelp_ShowsTheContractOptions(string command, params string[] options)
    {
        var (code, output, _) = CliRunner.Run(command, "--help");

        Assert.Equal(0, code);
        foreach (var option in options)
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("up", "127.0.0.1:9201", "127.0.0.1:5140")]
    [InlineData("gateway", "0.0.0.0:9201", "0.0.0.0:5140")]
    public void ListenerDefaults_FollowTheContract(string command, string http, string syslog)
    {
        var (_, output, _) = CliRunner.Run(command, "--help");

        Assert.Contains($"[default: {http}]", output, StringComparison.Ordinal);
        Assert.Contains($"[default: {syslog}]", output, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownCommand_IsAUsageError()
    {
        var (code, _, error) = CliRunner.Run("launch");

        Assert.Equal(2, code);
        Assert.Contains("flotel --help", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Agent_WithoutManifests_IsAUsageError()
    {
        var (code, _, error) = CliRunner.Run("agent");

        Assert.Equal(2, code);
        Assert.Contains("--manifests", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--http", "nohost")]
    [InlineData("--http", "127.0.0.1:70000")]
    [InlineData("--syslog", "::1:5140")]
    [InlineData("--syslog", "127.0.0.1:")]
    public void Up_WithMalformedAddress_IsAUsageErrorNamingTheOption(string option, string value)
    {
        var (code, _, error) = CliRunner.Run("up", option, value);

        Assert.Equal(2, code);
        Assert.Contains(option, error, StringComparison.Ordinal);
        Assert.Contains(value, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("up", "--http", "9201")]
    [InlineData("up", "--syslog", "5140")]
    [InlineData("gateway", "--http", "9201")]
    [InlineData("gateway", "--syslog", "5140")]
    public void MalformedAddress_QuotesExamplesWithTheOptionsOwnDefaultPort(string command, string option, string port)
    {
        var (code, _, error) = CliRunner.Run(command, option, "nohost");

        Assert.Equal(2, code);
        Assert.Contains($"e.g. 127.0.0.1:{port}, [::1]:{port} or 0.0.0.0:0", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10")]
    [InlineData("5x")]
    [InlineData("-5m")]
    public void Logs_WithMalformedSince_IsAUsageError(string since)
    {
        var (code, _, error) = CliRunner.Run("logs", "--since", since);

        Assert.Equal(2, code);
        Assert.Contains("--since", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Logs_WithZeroLimit_IsAUsageError()
    {
        var (code, _, error) = CliRunner.Run("logs", "--limit", "0");

        Assert.Equal(2, code);
        Assert.Contains("--limit", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("check")]
    [InlineData("check", "--manifests", "a", "--config", "b")]
    public void Check_NeedsExactlyOneInput(params string[] args)
    {
        var (code, _, error) = CliRunner.Run(args);

        Assert.Equal(2, code);
        Assert.Contains("exactly one of --manifests DIR or --config FILE", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Gateway_WithAMissingConfigFile_ExitsOne()
    {
        var (code, _, error) = CliRunner.Run("gateway", "--config", "/nonexistent/gateway.yaml");

        Assert.Equal(1, code);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_StartsPrintsTheListeningLine_AndStopsWhenCancelled()
    {
        var data = Directory.CreateTempSubdirectory("flotel-cli-gw-");
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            using var cancel = new CancellationTokenSource();
            var options = new Flotel.Gateway.Configuration.GatewayOptions
            {
                HttpAddress = "127.0.0.1:0",
                SyslogAddress = "127.0.0.1:0",
                DataDirectory = data.FullName,
            };
            var run = Commands.GatewayCommand.RunAsync(options, output, error, cancel.Token);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!output.ToString().Contains("listening", StringComparison.Ordinal) && DateTime.UtcNow < deadline && !run.IsCompleted)
            {
                await Task.Delay(50);
            }

            Assert.Matches(@"^listening syslog=127\.0\.0\.1:\d+ http=127\.0\.0\.1:\d+\r?\n$", output.ToString());
            await cancel.CancelAsync();
            Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("stopped", error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public void Agent_WithManifestsThatDoNotResolve_ExitsOneAndNamesTheProblem()
    {
        var dir = Directory.CreateTempSubdirectory("flotel-cli-agent-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "device.yaml"), "apiVersion: management.project-flotta.io/v1alpha1\nkind: EdgeWorkload\nmetadata:\n  name: w\n");
            var (code, _, error) = CliRunner.Run("agent", "--manifests", dir.FullName, "--data", Path.Combine(dir.FullName, "data"));

            Assert.Equal(1, code);
            Assert.Contains("flotel agent: cannot start", error, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Agent_StartsOnTheBlogManifests_PrintsItsPlan_AndStopsWhenCancelled()
    {
        var data = Directory.CreateTempSubdirectory("flotel-cli-agent-");
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            using var cancel = new CancellationTokenSource();
            var options = new Flotel.Agent.Hosting.AgentOptions
            {
                ManifestsDirectory = CheckCommandTests.RepoPath("examples", "blog"),
                DataDirectory = data.FullName,
                NodeExporterUrl = new Uri("http://127.0.0.1:1/metrics"),
            };
            var run = Commands.AgentCommand.RunAsync(options, output, error, cancel.Token);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!output.ToString().Contains("agent device=", StringComparison.Ordinal) && DateTime.UtcNow < deadline && !run.IsCompleted)
            {
                await Task.Delay(50);
            }

            Assert.StartsWith("agent device=", output.ToString(), StringComparison.Ordinal);
            await cancel.CancelAsync();
            Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("stopped", error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
