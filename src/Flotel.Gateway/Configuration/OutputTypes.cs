using Flotel.Wire.Manifests;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Configuration;

/// <summary>
/// The contract between the configuration loader and the output types. Each reader gets the output's mapping (without
/// <c>name</c> and <c>type</c>, which the loader reads), the output's name and the YAML path for messages, reports
/// problems through the <see cref="YamlFieldReader"/>, and returns the options (or null after an error). Which types
/// exist is the output registry's business (<see cref="IOutputTypeCatalog"/>), not this namespace's.
/// </summary>
public static class OutputTypes
{
    /// <summary>Reads one output's options.</summary>
    public delegate OutputOptions? Reader(YamlFieldReader reader, YamlMappingNode node, string name, string path);

    /// <summary>
    /// The catalog <see cref="GatewayConfigLoader.Load"/> uses when it is given none. The output registry installs itself
    /// here when the assembly loads; until then (never, in practice) no output type is known.
    /// </summary>
    public static IOutputTypeCatalog Default { get; internal set; } = new EmptyCatalog();

    private sealed class EmptyCatalog : IOutputTypeCatalog
    {
        public IReadOnlyList<string> TypeNames => [];

        public Reader? FindReader(string type) => null;
    }
}
