namespace Flotel.Agent.Podman;

/// <summary>Why <see cref="PodmanFrameReader"/> refused a frame header (a metric label; the log stream is reopened).</summary>
public enum PodmanFrameError
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>The stream byte is not 0, 1 or 2.</summary>
    UnknownStream,

    /// <summary>Header bytes 1–3 are not zero: the stream is not multiplexed (a TTY container) or is out of step.</summary>
    NonZeroPadding,

    /// <summary>The declared payload is larger than <see cref="PodmanFrameReader.MaxFrameBytes"/>.</summary>
    Oversized,
}
