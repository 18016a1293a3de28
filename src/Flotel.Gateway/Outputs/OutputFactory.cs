using Flotel.Gateway.Configuration;

namespace Flotel.Gateway.Outputs;

/// <summary>Creates the output for a configured entry; one line per type.</summary>
public static class OutputFactory
{
    /// <summary>Creates (does not start) the output configured by <paramref name="options"/>.</summary>
    public static IGatewayOutput Create(OutputOptions options, OutputContext context) => options switch
    {
        Timestream.TimestreamOptions timestream => new Timestream.TimestreamOutput(timestream, context),
        RemoteWrite.RemoteWriteOptions remoteWrite => new RemoteWrite.RemoteWriteOutput(remoteWrite, context),
        Elasticsearch.ElasticsearchOptions elasticsearch => new Elasticsearch.ElasticsearchOutput(elasticsearch, context),
        InfluxDb.InfluxDbOptions influxDb => new InfluxDb.InfluxDbOutput(influxDb, context),
        _ => throw new InvalidOperationException($"output type '{options.Type}' has no implementation"),
    };
}
