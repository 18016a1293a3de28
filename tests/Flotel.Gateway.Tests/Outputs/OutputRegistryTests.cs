using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs;
using Flotel.Gateway.Outputs.Elasticsearch;
using Flotel.Model.Manifests;
using Flotel.Wire.Manifests;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Tests.Outputs;

public sealed class OutputRegistryTests
{
    [Fact]
    public void Default_IsTheConfigurationLoadersCatalog()
    {
        Assert.Same(OutputRegistry.Default, OutputTypes.Default);
        Assert.Equal(["elasticsearch", "influxdb", "remote_write", "timestream"], OutputRegistry.Default.TypeNames);
    }

    [Fact]
    public void EveryDefinition_ReadsOptionsOfItsOwnTypeName()
    {
        foreach (var definition in OutputRegistry.Default.Definitions)
        {
            var diagnostics = new List<ManifestDiagnostic>();
            var options = definition.Read(new YamlFieldReader("test.yaml", diagnostics), new YamlMappingNode(), "o", "outputs[0]");

            // An empty entry may lack required keys; whatever the reader returns is of the definition's type.
            if (options is not null)
            {
                Assert.IsType(definition.OptionsType, options);
                Assert.Equal(definition.TypeName, options.Type);
            }

            Assert.Same(definition, OutputRegistry.Default.Find(definition.TypeName));
            Assert.Same(definition.Read, OutputRegistry.Default.FindReader(definition.TypeName));
        }
    }

    [Fact]
    public void Create_UnknownOptionsType_SaysSo()
    {
        var registry = new OutputRegistry([]);

        var error = Assert.Throws<InvalidOperationException>(() => registry.Create(new ElasticsearchOptions { Name = "es" }, null!));

        Assert.Contains("'elasticsearch' has no implementation", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Registry_RefusesATypeDefinedTwice()
    {
        var definition = OutputRegistry.Default.Definitions[0];

        Assert.Throws<ArgumentException>(() => new OutputRegistry([definition, definition]));
    }

    [Fact]
    public void EveryTypeName_IsDocumented()
    {
        var configuration = File.ReadAllText(Path.Combine(Repository.Root, "docs", "configuration.md"));
        var outputs = File.ReadAllText(Path.Combine(Repository.Root, "docs", "outputs.md"));
        foreach (var name in OutputRegistry.Default.TypeNames)
        {
            Assert.Contains($"`type: {name}`", configuration, StringComparison.Ordinal);
            Assert.Contains($"`{name}`", outputs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ConfigurationCode_NamesNoOutput()
    {
        var directory = Path.Combine(Repository.Root, "src", "Flotel.Gateway", "Configuration");
        foreach (var file in Directory.EnumerateFiles(directory, "*.cs"))
        {
            foreach (var line in File.ReadLines(file))
            {
                // A namespace or type of the outputs, not the GatewayOptions.Outputs list.
                if (!line.TrimStart().StartsWith("///", StringComparison.Ordinal))
                {
                    Assert.DoesNotMatch(@"Flotel\.Gateway\.Outputs|(?<![.\w])Outputs\.", line);
                }
            }
        }
    }

    [Fact]
    public void UnknownType_IsReportedWithEveryKnownType()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("flotel-registry-").FullName, "gateway.yaml");
        File.WriteAllText(file, "outputs:\n  - name: x\n    type: kafka\n");

        var (_, diagnostics) = GatewayConfigLoader.Load(file, _ => null);

        var message = Assert.Single(diagnostics).Message;
        Assert.Contains("known: elasticsearch, influxdb, remote_write, timestream", message, StringComparison.Ordinal);
    }
}
