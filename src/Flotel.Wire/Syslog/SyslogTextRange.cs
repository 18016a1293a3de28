namespace Flotel.Wire.Syslog;

/// <summary>A slice of the parsed message bytes: start offset and length; <see cref="None"/> when absent.</summary>
public readonly record struct SyslogTextRange(int Start, int Length)
{
    /// <summary>An absent field.</summary>
    public static SyslogTextRange None => new(-1, 0);

    /// <summary>True when the field is present (it may still be empty).</summary>
    public bool IsPresent => Start >= 0;

    /// <summary>The bytes of this range in <paramref name="message"/> (empty when absent).</summary>
    public ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> message) => IsPresent ? message.Slice(Start, Length) : default;
}
