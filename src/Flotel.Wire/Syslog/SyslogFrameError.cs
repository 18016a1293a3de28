namespace Flotel.Wire.Syslog;

/// <summary>Why <see cref="SyslogFramer"/> discarded a frame (a metric label; the connection always survives).</summary>
public enum SyslogFrameError
{
    /// <summary>Nothing discarded.</summary>
    None = 0,

    /// <summary>An LF-framed line longer than <c>max_frame_bytes</c>: skipped up to its LF.</summary>
    OversizedLine,

    /// <summary>An octet-counted frame declaring more than <c>max_frame_bytes</c>: its declared length is skipped.</summary>
    OversizedOctetCountedFrame,
}
