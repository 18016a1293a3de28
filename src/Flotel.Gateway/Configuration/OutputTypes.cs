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
    /// The reader of an options class that declares its keys (<see cref="ConfigKeyAttribute"/>,
    /// <see cref="ConfigSectionAttribute"/>): reads them as the file's top is read, then runs
    /// <see cref="OutputOptions.ValidateKeys"/>. A declaration the loader could not honour throws here, when the output
    /// type is defined.
    /// </summary>
    /// <param name="nullAfterError">Return null when the entry had an error, so a bad entry is not listed in the options.</param>
    public static Reader Declared<TOptions>(bool nullAfterError = false)
        where TOptions : OutputOptions, new()
    {
        _ = ConfigKeySet.For(typeof(TOptions));
        return (r, node, name, path) =>
        {
            ArgumentNullException.ThrowIfNull(r);
            ArgumentNullException.ThrowIfNull(node);
            var errors = r.ErrorCount;
            var options = new TOptions { Name = name };
            GatewayConfigLoader.ReadDeclared(r, node, path, options);
            options.ValidateKeys(r, node, path);
            return nullAfterError && r.ErrorCount > errors ? null : options;
        };
    }

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
