namespace Flotel.Gateway.Inputs.Syslog;

/// <summary>What one syslog TCP or TLS listener lets its clients hold (gateway options <c>syslog.maxConnections</c>, <c>syslog.idleTimeoutSeconds</c>).</summary>
public sealed record SyslogConnectionLimits
{
    /// <summary>Most connections served at once; one more is closed as soon as it is accepted.</summary>
    public int MaxConnections { get; init; } = 20_000;

    /// <summary>A connection that sends nothing for this long is closed; zero = never.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(15);
}
