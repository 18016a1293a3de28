namespace Flotel.Wire.Queueing;

/// <summary>What a durable-queue record of the gateway holds.</summary>
public enum GatewayRecordKind : byte
{
    /// <summary>Syslog frames read from one TCP/TLS read or a burst of UDP datagrams, unparsed.</summary>
    SyslogFrames = 1,

    /// <summary>One remote-write body, validated, still snappy-compressed as received.</summary>
    RemoteWrite = 2,

    /// <summary>Documents of one <c>_bulk</c> request.</summary>
    BulkDocuments = 3,
}
