namespace Flotel.Wire.RemoteWrite;

/// <summary>Why a remote-write request was rejected. Each maps to one HTTP status (see <see cref="RemoteWriteException.HttpStatusCode"/>).</summary>
public enum RemoteWriteRejectReason
{
    /// <summary>Content-Type is not <c>application/x-protobuf</c> (v1). HTTP 415.</summary>
    UnsupportedContentType,

    /// <summary>Content-Encoding is not <c>snappy</c>. HTTP 415.</summary>
    UnsupportedContentEncoding,

    /// <summary>The compressed body exceeds <see cref="RemoteWriteLimits.MaxCompressedBytes"/>. HTTP 413.</summary>
    CompressedTooLarge,

    /// <summary>The snappy preamble declares more than <see cref="RemoteWriteLimits.MaxDecompressedBytes"/>. HTTP 413.</summary>
    DecompressedTooLarge,

    /// <summary>The body is not a valid snappy block (bad preamble, impossible length, corrupt data). HTTP 400.</summary>
    InvalidSnappy,

    /// <summary>The decompressed bytes are not a valid protobuf WriteRequest. HTTP 400.</summary>
    InvalidProtobuf,

    /// <summary>A series has no (non-empty) <c>__name__</c> label. HTTP 400.</summary>
    MissingMetricName,

    /// <summary><c>__name__</c> does not match <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>. HTTP 400.</summary>
    InvalidMetricName,

    /// <summary>A label name does not match <c>[a-zA-Z_][a-zA-Z0-9_]*</c>. HTTP 400.</summary>
    InvalidLabelName,

    /// <summary>A label value is not valid UTF-8. HTTP 400.</summary>
    InvalidLabelValue,

    /// <summary>A label name appears twice in one series. HTTP 400.</summary>
    DuplicateLabelName,

    /// <summary>A series has more than <see cref="RemoteWriteLimits.MaxLabelsPerSeries"/> labels. HTTP 400.</summary>
    TooManyLabels,

    /// <summary>A label name or value exceeds its byte limit. HTTP 400.</summary>
    LabelTooLong,
}
