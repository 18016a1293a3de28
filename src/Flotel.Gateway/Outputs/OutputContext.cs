using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Flotel.Wire.Syslog;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Outputs;

/// <summary>What the host hands every output when it creates it.</summary>
/// <param name="Queue">The gateway's durable queue; an output opens its reader named after itself.</param>
/// <param name="DataDirectory">The gateway's data directory; dead letters go to <see cref="DeadLetterPath"/>.</param>
/// <param name="Parser">Parses syslog frames from the queue (the gateway's timezone rules).</param>
/// <param name="IndexPattern">The gateway's index pattern for syslog events.</param>
/// <param name="Metrics">Where counters go.</param>
/// <param name="Time">Clock for retries and timestamps.</param>
/// <param name="LoggerFactory">Loggers.</param>
public sealed record OutputContext(
    DurableQueue Queue,
    string DataDirectory,
    SyslogParser Parser,
    string IndexPattern,
    MetricsRegistry Metrics,
    TimeProvider Time,
    ILoggerFactory LoggerFactory)
{
    /// <summary>The dead-letter file of output <paramref name="name"/>: <c>DATA/dead-letter/NAME.ndjson</c>.</summary>
    public string DeadLetterPath(string name) => Path.Combine(DataDirectory, "dead-letter", name + ".ndjson");
}
