namespace Flotel.Wire.RemoteWrite;

/// <summary>
/// The one exception the remote-write codec throws for input it cannot accept. The message is one line,
/// fit to be returned as an HTTP 400/413/415 body; <see cref="HttpStatusCode"/> says which.
/// </summary>
public sealed class RemoteWriteException : Exception
{
    /// <summary>Creates an exception with a reason and a one-line message.</summary>
    public RemoteWriteException(RemoteWriteRejectReason reason, string message)
        : base(message) => Reason = reason;

    /// <summary>Creates an exception with the default reason <see cref="RemoteWriteRejectReason.InvalidProtobuf"/>.</summary>
    public RemoteWriteException()
        : this(RemoteWriteRejectReason.InvalidProtobuf, "invalid remote-write request")
    {
    }

    /// <summary>Creates an exception with the default reason <see cref="RemoteWriteRejectReason.InvalidProtobuf"/>.</summary>
    public RemoteWriteException(string message)
        : this(RemoteWriteRejectReason.InvalidProtobuf, message)
    {
    }

    /// <summary>Creates an exception wrapping a lower-level failure.</summary>
    public RemoteWriteException(string message, Exception innerException)
        : base(message, innerException) => Reason = RemoteWriteRejectReason.InvalidProtobuf;

    /// <summary>Creates an exception with a reason wrapping a lower-level failure (e.g. Snappier's InvalidDataException).</summary>
    public RemoteWriteException(RemoteWriteRejectReason reason, string message, Exception innerException)
        : base(message, innerException) => Reason = reason;

    /// <summary>Why the request was rejected.</summary>
    public RemoteWriteRejectReason Reason { get; }

    /// <summary>
    /// The HTTP status for the reply (architecture §6): 415 for wrong headers, 413 for size limits, 400 for
    /// anything that can never be accepted (remote-write spec 1.0: invalid samples MUST get 400).
    /// </summary>
    public int HttpStatusCode => Reason switch
    {
        RemoteWriteRejectReason.UnsupportedContentType or RemoteWriteRejectReason.UnsupportedContentEncoding => 415,
        RemoteWriteRejectReason.CompressedTooLarge or RemoteWriteRejectReason.DecompressedTooLarge => 413,
        _ => 400,
    };
}
