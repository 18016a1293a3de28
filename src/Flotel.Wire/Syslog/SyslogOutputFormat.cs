namespace Flotel.Wire.Syslog;

/// <summary>The line layout the agent sends (ConfigMap key <c>Format</c>, architecture §4).</summary>
public enum SyslogOutputFormat
{
    /// <summary>
    /// Flotta's layout <c>&lt;PRI&gt;TIMESTAMP HOSTNAME TAG[PID]: CONTAINER-ID: MSG</c> (docs/reference/flotta-device-worker.md §3.6),
    /// with the device name as HOSTNAME so Logstash's default grok parses it (the blog's line had none).
    /// </summary>
    Flotta = 0,

    /// <summary>RFC 5424 with Flotel's structured data element carrying device, workload and container.</summary>
    Rfc5424,
}
