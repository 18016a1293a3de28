namespace Flotel.Gateway.Configuration;

/// <summary>How a key is read, from its property's type (<see cref="GatewayConfigKeys"/>).</summary>
internal enum ConfigKeyKind
{
    Text,
    TextList,
    Enum,
    Integer,
    Boolean,
    Duration,
    Tls,
    Credentials,
    Outputs,
    Url,
    TextMap,
    Secret,
    IntegerDuration,
}
