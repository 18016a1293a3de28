using System.Runtime.CompilerServices;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Outputs.Elasticsearch;
using Flotel.Gateway.Outputs.InfluxDb;
using Flotel.Gateway.Outputs.RemoteWrite;
using Flotel.Gateway.Outputs.Timestream;

namespace Flotel.Gateway.Outputs;

/// <summary>
/// The gateway's output types: the configuration loader reads <c>outputs:</c> entries through it
/// (<see cref="IOutputTypeCatalog"/>) and the gateway host creates the outputs through it. Adding an output type is one
/// folder under <c>Outputs/</c> and one line in <see cref="Default"/> (docs/outputs.md).
/// </summary>
public sealed class OutputRegistry : IOutputTypeCatalog
{
    private readonly Dictionary<string, OutputDefinition> _byType = new(StringComparer.Ordinal);

    /// <param name="definitions">The types; each <see cref="OutputDefinition.TypeName"/> once.</param>
    public OutputRegistry(IReadOnlyList<OutputDefinition> definitions)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        foreach (var definition in definitions)
        {
            if (!_byType.TryAdd(definition.TypeName, definition))
            {
                throw new ArgumentException($"output type '{definition.TypeName}' is defined twice", nameof(definitions));
            }
        }

        Definitions = definitions;
        var names = new List<string>(_byType.Keys);
        names.Sort(StringComparer.Ordinal);
        TypeNames = names;
    }

    /// <summary>Every output type the gateway has, one line each.</summary>
    public static OutputRegistry Default { get; } = new(
    [
        TimestreamOutput.Definition,
        RemoteWriteOutput.Definition,
        ElasticsearchOutput.Definition,
        InfluxDbOutput.Definition,
    ]);

    /// <summary>The definitions, in registration order.</summary>
    public IReadOnlyList<OutputDefinition> Definitions { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> TypeNames { get; }

    /// <summary>The definition of <paramref name="type"/>, or null.</summary>
    public OutputDefinition? Find(string type) => _byType.GetValueOrDefault(type);

    /// <inheritdoc />
    public OutputTypes.Reader? FindReader(string type) => Find(type)?.Read;

    /// <summary>Creates (does not start) the output configured by <paramref name="options"/>.</summary>
    public IGatewayOutput Create(OutputOptions options, OutputContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Find(options.Type) is { } definition
            ? definition.Create(options, context)
            : throw new InvalidOperationException($"output type '{options.Type}' has no implementation");
    }

    /// <summary>
    /// Makes <see cref="Default"/> the catalog of <see cref="GatewayConfigLoader.Load"/>, before any code of the assembly
    /// runs. This is the only place the configuration meets the concrete output types, and it points from outputs to
    /// configuration, so the configuration code has no dependency on any output.
    /// </summary>
#pragma warning disable CA2255 // Runs once when the assembly loads: the registry must be in place before any configuration is read, whoever reads it.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void InstallAsDefaultCatalog() => OutputTypes.Default = Default;
}
