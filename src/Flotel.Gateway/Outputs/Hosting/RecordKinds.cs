using Flotel.Gateway.Queueing;
using Flotel.Wire.Queueing;

namespace Flotel.Gateway.Outputs.Hosting;

/// <summary>The queue-record kinds an output takes (<see cref="OutputHostSettings{T}.Kinds"/>).</summary>
public static class RecordKinds
{
    /// <summary>Log outputs: syslog frames and <c>_bulk</c> documents.</summary>
    public static readonly IReadOnlyList<GatewayRecordKind> Logs = [GatewayRecordKind.SyslogFrames, GatewayRecordKind.BulkDocuments];

    /// <summary>Metric outputs: remote-write bodies.</summary>
    public static readonly IReadOnlyList<GatewayRecordKind> Metrics = [GatewayRecordKind.RemoteWrite];
}
