using Flotel.Wire.Manifests;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Configuration;

/// <summary>
/// The output types the gateway knows, by their <c>type:</c> value. Each reader gets the output's mapping (without
/// <c>name</c> and <c>type</c>, which are read here), the output's name and the YAML path for messages, reports
/// problems through the <see cref="YamlFieldReader"/>, and returns the options (or null after an error).
/// </summary>
public static class OutputTypes
{
    /// <summary>Reads one output's options.</summary>
    public delegate OutputOptions? Reader(YamlFieldReader reader, YamlMappingNode node, string name, string path);

    /// <summary>Known types, one line each.</summary>
    public static IReadOnlyDictionary<string, Reader> Readers { get; } = new Dictionary<string, Reader>(StringComparer.Ordinal)
    {
        ["timestream"] = Outputs.Timestream.TimestreamOptions.Read,
        [Outputs.RemoteWrite.RemoteWriteOptions.TypeName] = Outputs.RemoteWrite.RemoteWriteOptions.Read,
        [Outputs.Elasticsearch.ElasticsearchOptions.TypeName] = Outputs.Elasticsearch.ElasticsearchOptions.Read,
        [Outputs.InfluxDb.InfluxDbOptions.TypeName] = Outputs.InfluxDb.InfluxDbOptions.Read,
    };
}
