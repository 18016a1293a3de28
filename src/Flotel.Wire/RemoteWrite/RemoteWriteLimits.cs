namespace Flotel.Wire.RemoteWrite;

/// <summary>
/// Size limits applied before and while decoding a remote-write request. The remote-write spec leaves
/// limits to receivers ("receivers MAY limit label count/length"); each default below says where it comes from.
/// </summary>
public sealed class RemoteWriteLimits
{
    /// <summary>
    /// 32 MiB: VictoriaMetrics' <c>-maxInsertRequestSize</c> default, so anything VictoriaMetrics accepts
    /// is accepted here. A Flotta device request of 30,000 samples (<c>requestNumSamples</c> default) is ~3 MiB,
    /// Prometheus's 2,000-sample batches are ~200 KiB.
    /// </summary>
    public const int DefaultMaxDecompressedBytes = 32 * 1024 * 1024;

    /// <summary>
    /// 16 MiB: the body is buffered before decompression, so this bounds memory per request. Remote-write
    /// protobuf compresses at least 3–4× with snappy, so a body above half the decompressed limit is not a
    /// sane request.
    /// </summary>
    public const int DefaultMaxCompressedBytes = 16 * 1024 * 1024;

    /// <summary>128: well above Mimir's and VictoriaMetrics' defaults (30); bounds the per-request label scratch.</summary>
    public const int DefaultMaxLabelsPerSeries = 128;

    /// <summary>1 KiB: Mimir's <c>max_label_name_length</c> default (names are identifiers).</summary>
    public const int DefaultMaxLabelNameBytes = 1024;

    /// <summary>16 KiB: VictoriaMetrics' <c>-maxLabelValueLen</c> default.</summary>
    public const int DefaultMaxLabelValueBytes = 16 * 1024;

    /// <summary>The defaults above.</summary>
    public static RemoteWriteLimits Default { get; } = new();

    /// <summary>Largest accepted HTTP body (snappy-compressed). Over it: 413.</summary>
    public int MaxCompressedBytes { get; init; } = DefaultMaxCompressedBytes;

    /// <summary>Largest accepted decompressed size, checked on the snappy preamble before decompressing. Over it: 413.</summary>
    public int MaxDecompressedBytes { get; init; } = DefaultMaxDecompressedBytes;

    /// <summary>Most labels in one series (including <c>__name__</c>). Over it: 400.</summary>
    public int MaxLabelsPerSeries { get; init; } = DefaultMaxLabelsPerSeries;

    /// <summary>Longest label name in UTF-8 bytes. Over it: 400.</summary>
    public int MaxLabelNameBytes { get; init; } = DefaultMaxLabelNameBytes;

    /// <summary>Longest label value in UTF-8 bytes. Over it: 400.</summary>
    public int MaxLabelValueBytes { get; init; } = DefaultMaxLabelValueBytes;
}
