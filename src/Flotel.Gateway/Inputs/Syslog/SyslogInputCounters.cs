using Flotel.Pipeline.Diagnostics;

namespace Flotel.Gateway.Inputs.Syslog;

/// <summary>Counters of the syslog inputs, labelled by transport.</summary>
public sealed class SyslogInputCounters
{
    public SyslogInputCounters(MetricsRegistry registry, string transport)
    {
        Frames = registry.Counter("flotel_syslog_frames_total", "Syslog messages received and queued.", ("transport", transport));
        Bytes = registry.Counter("flotel_syslog_bytes_total", "Bytes of syslog messages queued.", ("transport", transport));
        Connections = registry.Counter("flotel_syslog_connections_total", "Syslog connections accepted.", ("transport", transport));
        Oversized = registry.Counter("flotel_syslog_dropped_total", "Syslog messages dropped, by reason.", ("transport", transport), ("reason", "oversized"));
        QueueFull = registry.Counter("flotel_syslog_dropped_total", "Syslog messages dropped, by reason.", ("transport", transport), ("reason", "queue_full"));
        WriteFailed = registry.Counter("flotel_syslog_dropped_total", "Syslog messages dropped, by reason.", ("transport", transport), ("reason", "write_failed"));
        TlsFailures = registry.Counter("flotel_syslog_tls_handshake_failures_total", "TLS handshakes that failed.", ("transport", transport));
        Refused = registry.Counter("flotel_syslog_connections_refused_total", "Syslog connections closed at accept because syslog.maxConnections were open.", ("transport", transport));
        IdleClosed = registry.Counter("flotel_syslog_connections_idle_closed_total", "Syslog connections closed after syslog.idleTimeoutSeconds without data.", ("transport", transport));
        BackPressure = registry.Counter("flotel_syslog_backpressure_total", "Times a TCP connection was paused because the queue was full or could not write.", ("transport", transport));
    }

    public Counter Frames { get; }

    public Counter Bytes { get; }

    public Counter Connections { get; }

    public Counter Oversized { get; }

    public Counter QueueFull { get; }

    /// <summary>Messages the queue could not write (a full data disk): UDP only, TCP is paused instead.</summary>
    public Counter WriteFailed { get; }

    public Counter TlsFailures { get; }

    public Counter BackPressure { get; }

    public Counter Refused { get; }

    public Counter IdleClosed { get; }
}
