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

    /// <summary>An existing file whose contents are one or more PEM certificates (a CA bundle an output trusts).</summary>
    PemCertificates,

    /// <summary>Any text but the empty one.</summary>
    NonEmpty,

    /// <summary>An AWS name such as a region (<c>eu-central-1</c>) or a SigV4 service (<c>es</c>): lower-case letters, digits, <c>-</c>.</summary>
    AwsName,

    /// <summary>A map's names: HTTP header names, none that the output sets itself (<see cref="IReservedHeaderNames"/>).</summary>
    HeaderName,

    /// <summary>An AWS region name such as <c>eu-central-1</c>: 1–64 lower-case letters, digits and <c>-</c>.</summary>
    AwsRegion,

    /// <summary>An AWS database or table name (Timestream): 3–256 letters, digits, <c>_</c>, <c>.</c> and <c>-</c>.</summary>
    TableName,

    /// <summary>URL keys: an <c>http://</c> or <c>https://</c> URL without a path or query (a service's base address).</summary>
    BaseUrl,
}
