namespace Flotel.Agent.Tests.Logs;

/// <summary>
/// Test classes that open syslog connections run one after another: <see cref="Flotel.Agent.Logs.SyslogSender.OpenConnections"/>
/// is one process-wide count, and a test that asserts on it must not see another class's connections.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SyslogSenderCollection
{
    public const string Name = "syslog sender connections";
}
