namespace Flotel.Wire.Syslog;

/// <summary>
/// What <see cref="SyslogParser.Parse"/> found in one message, as offsets into the message bytes plus parsed numbers:
/// building it allocates nothing. <see cref="SyslogParser.Materialize"/> turns it into a <c>LogEvent</c>.
/// </summary>
public struct SyslogParseResult
{
    /// <summary>The header layout recognized; <see cref="SyslogDialect.NotSyslog"/> for a parse failure.</summary>
    public SyslogDialect Dialect { get; internal set; }

    /// <summary>Why the message is not syslog (<see cref="SyslogParseError.None"/> when it is).</summary>
    public SyslogParseError Error { get; internal set; }

    /// <summary>The PRI value; 13 (user.notice, RFC 3164 §4.3.3) when the message has no valid PRI.</summary>
    public int Priority { get; internal set; }

    /// <summary>True when the message carried a PRI.</summary>
    public bool HasPriority { get; internal set; }

    /// <summary>The header time in UTC, or the receive time when the header has none or parsing failed.</summary>
    public DateTime Timestamp { get; internal set; }

    /// <summary>True when <see cref="Timestamp"/> comes from the header.</summary>
    public bool HasHeaderTimestamp { get; internal set; }

    /// <summary>The header's timestamp text as received.</summary>
    public SyslogTextRange TimestampText { get; internal set; }

    /// <summary>HOSTNAME (absent when empty or <c>-</c>).</summary>
    public SyslogTextRange Hostname { get; internal set; }

    /// <summary>RFC 3164 TAG name or RFC 5424 APP-NAME.</summary>
    public SyslogTextRange AppName { get; internal set; }

    /// <summary>The TAG's <c>[pid]</c> or RFC 5424 PROCID.</summary>
    public SyslogTextRange ProcId { get; internal set; }

    /// <summary>RFC 5424 MSGID.</summary>
    public SyslogTextRange MsgId { get; internal set; }

    /// <summary>The whole RFC 5424 STRUCTURED-DATA text (absent for <c>-</c> and for RFC 3164).</summary>
    public SyslogTextRange StructuredData { get; internal set; }

    /// <summary>The message body; the whole line (trailing CR/LF removed) on parse failure.</summary>
    public SyslogTextRange Message { get; internal set; }

    /// <summary>Flotta device (raw SD value when <see cref="ContextFromStructuredData"/>).</summary>
    public SyslogTextRange DeviceId { get; internal set; }

    /// <summary>Flotta workload (raw SD value when <see cref="ContextFromStructuredData"/>).</summary>
    public SyslogTextRange Workload { get; internal set; }

    /// <summary>Container id (raw SD value when <see cref="ContainerFromStructuredData"/>).</summary>
    public SyslogTextRange ContainerId { get; internal set; }

    /// <summary>True when device and workload came from Flotel's SD element (values may hold RFC 5424 escapes).</summary>
    public bool ContextFromStructuredData { get; internal set; }

    /// <summary>True when the container id came from Flotel's SD element (the value may hold RFC 5424 escapes).</summary>
    public bool ContainerFromStructuredData { get; internal set; }
}
