namespace Flotel.Gateway.Configuration;

/// <summary>What a string key's text must be (<see cref="ConfigKeyAttribute.Format"/>); each is checked by the loader.</summary>
internal enum ConfigFormat
{
    /// <summary>Any text.</summary>
    Text,

    /// <summary><c>HOST:PORT</c> (<c>Flotel.Pipeline.Net.HostPort</c>).</summary>
    Address,

    /// <summary><c>UTC</c>, an offset such as <c>+02:00</c> or an IANA zone id, as the syslog parser takes them.</summary>
    Timezone,

    /// <summary>A Logstash index name pattern such as <c>logstash-%{+YYYY.MM.dd}</c>.</summary>
    IndexPattern,

    /// <summary>The path of a file that exists when the configuration is read (a PEM certificate or key).</summary>
    ExistingFile,
}
