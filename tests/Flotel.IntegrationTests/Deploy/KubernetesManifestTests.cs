using System.Diagnostics;
using Flotel.IntegrationTests.Gateway;
using YamlDotNet.RepresentationModel;

namespace Flotel.IntegrationTests.Deploy;

/// <summary>
/// deploy/kubernetes/ (the blog's Logstash + adapter replaced by one gateway) and examples/gateway/outputs.yaml:
/// the gateway.yaml they hold passes <c>flotel check --config</c> (the real CLI), and the manifests keep the blog's
/// ports, Secret names and AWS credential mount.
/// </summary>
public sealed class KubernetesManifestTests : IDisposable
{
    private static readonly Dictionary<string, string> Environment = new()
    {
        ["LOGSTASH_USERNAME"] = "logstash",
        ["LOGSTASH_PASSWORD"] = "secret",
        ["OPENSEARCH_URL"] = "https://search-project-flotta.us-east-1.es.amazonaws.com:443",
        ["REMOTE_WRITE_URL"] = "http://thanos-receive.monitoring.svc:19291/api/v1/write",
        ["AWS_REGION"] = "us-east-1",
        ["DATABASE_NAME"] = "flotta",
        ["TABLE_NAME"] = "metrics",
    };

    private readonly string _dir = PeerProcess.CreateTempDirectory("k8s");

    public void Dispose() => GatewayTestKit.DeleteDirectory(_dir);

    private static List<YamlMappingNode> Documents(string file)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(file)));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static string Scalar(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        }

        return ((YamlScalarNode)node).Value!;
    }

    private static YamlMappingNode Kind(List<YamlMappingNode> documents, string kind, string name) =>
        documents.Single(d => Scalar(d, "kind") == kind && Scalar(d, "metadata", "name") == name);

    private static async Task<(int ExitCode, string Output)> CheckAsync(string config)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { GatewayProcess.FlotelDll, "check", "--config", config })
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in Environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }

    [Fact]
    public async Task Deployment_EmbeddedGatewayYaml_PassesFlotelCheckWithItsOutputs()
    {
        var documents = Documents(Path.Combine(TestPaths.RepoRoot(), "deploy", "kubernetes", "flotel-gateway.yaml"));
        var config = Path.Combine(_dir, "gateway.yaml");
        await File.WriteAllTextAsync(config, Scalar(Kind(documents, "ConfigMap", "flotel-gateway"), "data", "gateway.yaml"));

        var (exitCode, output) = await CheckAsync(config);

        Assert.True(exitCode == 0, output);
        Assert.Contains("0 errors, 0 warnings", output, StringComparison.Ordinal);
        var (options, _) = Flotel.Gateway.Configuration.GatewayConfigLoader.Load(config, name => Environment.GetValueOrDefault(name));
        Assert.Equal(["opensearch:elasticsearch", "thanos:remote_write", "timestream:timestream"], options.Outputs.Select(o => o.Name + ":" + o.Type));
    }

    [Fact]
    public void Deployment_KeepsTheBlogsPortsSecretsAndAwsMount()
    {
        var documents = Documents(Path.Combine(TestPaths.RepoRoot(), "deploy", "kubernetes", "flotel-gateway.yaml"));
        var service = Kind(documents, "Service", "flotel-gateway");
        var ports = ((YamlSequenceNode)((YamlMappingNode)service.Children[new YamlScalarNode("spec")]).Children[new YamlScalarNode("ports")])
            .Select(p => Scalar(p, "protocol") + "/" + Scalar(p, "port")).ToList();
        Assert.Equal(["TCP/5140", "UDP/5140", "TCP/9201"], ports);
        Kind(documents, "Service", "logstash-service");
        Kind(documents, "Service", "prometheus-timestream-adapter-service");

        var text = File.ReadAllText(Path.Combine(TestPaths.RepoRoot(), "deploy", "kubernetes", "flotel-gateway.yaml"));
        var deployment = Kind(documents, "Deployment", "flotel-gateway");
        var rendered = new YamlStream(new YamlDocument(deployment));
        using var writer = new StringWriter();
        rendered.Save(writer, assignAnchors: false);
        var spec = writer.ToString();
        Assert.Contains("name: logstash-secret", spec, StringComparison.Ordinal);
        Assert.Contains("key: LOGSTASH_PASSWORD", spec, StringComparison.Ordinal);
        Assert.Contains("secretName: aws-credentials", spec, StringComparison.Ordinal);
        Assert.Contains("mountPath: /var/mount/aws", spec, StringComparison.Ordinal);
        Assert.Contains("value: /var/mount/aws/credentials", spec, StringComparison.Ordinal);
        Assert.Contains("/etc/flotel/gateway.yaml", spec, StringComparison.Ordinal);
        Assert.DoesNotContain("logstash-oss", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Deployment_RunsTheImageThatBuildShMakes()
    {
        var documents = Documents(Path.Combine(TestPaths.RepoRoot(), "deploy", "kubernetes", "flotel-gateway.yaml"));
        YamlNode node = Kind(documents, "Deployment", "flotel-gateway");
        foreach (var key in new[] { "spec", "template", "spec", "containers" })
        {
            node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        }

        var container = (YamlMappingNode)((YamlSequenceNode)node).Single();
        var image = Scalar(container, "image");
        Assert.StartsWith("localhost/flotel-gateway:", image, StringComparison.Ordinal);
        var script = File.ReadAllText(Path.Combine(TestPaths.RepoRoot(), "deploy", "container", "build.sh"));
        Assert.Contains("image=" + image[..image.IndexOf(':', StringComparison.Ordinal)] + ":$version", script, StringComparison.Ordinal);
        Assert.Equal("1654", Scalar(Kind(documents, "Deployment", "flotel-gateway"), "spec", "template", "spec", "securityContext", "runAsUser"));
        Assert.Contains("USER 1654:1654", File.ReadAllLines(Path.Combine(TestPaths.RepoRoot(), "deploy", "container", "Containerfile")));
    }

    [Fact]
    public async Task Example_OutputsYaml_PassesFlotelCheck()
    {
        var (exitCode, output) = await CheckAsync(Path.Combine(TestPaths.RepoRoot(), "examples", "gateway", "outputs.yaml"));

        Assert.True(exitCode == 0, output);
        Assert.Contains("0 errors, 0 warnings", output, StringComparison.Ordinal);
    }
}
