using Flotel.Wire.Manifests;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Configuration;

/// <summary>
/// One entry of the gateway's <c>outputs:</c> list. Every output reads the durable queue through its own cursor, named
/// after <see cref="Name"/>, so one slow or broken output never stalls another (or the embedded store).
/// Each type's options class derives from this and is read by the <see cref="OutputTypes.Reader"/> its output
/// definition registers (<see cref="IOutputTypeCatalog"/>): <see cref="OutputTypes.Declared{TOptions}"/> reads the keys
/// the class declares (<see cref="ConfigKeyAttribute"/>, as <see cref="GatewayOptions"/> does), then
/// <see cref="ValidateKeys"/>.
/// </summary>
public abstract class OutputOptions
{
    /// <summary>Unique name: the queue reader's name, the <c>output</c> metric label, the dead-letter file name.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The <c>type:</c> key this class is read from.</summary>
    public abstract string Type { get; }

    /// <summary>
    /// Checks between keys (a required key, two keys that exclude each other), after every declared key of the entry
    /// <paramref name="node"/> at <paramref name="path"/> was read; problems go to <paramref name="r"/>.
    /// </summary>
    protected internal virtual void ValidateKeys(YamlFieldReader r, YamlMappingNode node, string path)
    {
    }
}
