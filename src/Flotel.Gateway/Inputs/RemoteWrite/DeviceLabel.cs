using System.Buffers;
using System.Globalization;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Gateway.Inputs.RemoteWrite;

/// <summary>
/// The identity rule for samples (docs/fleet.md §6): every series of a request that arrived with a device certificate
/// gets <c>edgedeviceid</c> = the certificate's CN, replacing what the sender wrote or adding it. The body is rewritten
/// once, on the way in, so the queue record holds the device's own label and every output (the embedded store decodes
/// the body itself) stores and forwards it. Only requests with a device certificate pay for it; the others are queued
/// as received.
/// </summary>
public static class DeviceLabel
{
    /// <summary>The label Flotta's device worker gives every sample it sends (<c>edgedeviceid</c>, the agent's ScrapeBuilder).</summary>
    public const string Name = "edgedeviceid";

    /// <summary>
    /// Decodes <paramref name="body"/> (already validated), sets the device label on every series and writes the new
    /// snappy body to <paramref name="output"/>; returns the number of samples.
    /// </summary>
    /// <exception cref="RemoteWriteException">The rewritten body is over <paramref name="limits"/> (413).</exception>
    public static int Rewrite(ReadOnlySpan<byte> body, string device, RemoteWriteLimits limits, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var request = RemoteWriteCodec.Decode(body, limits);
        var series = new List<TimeSeries>(request.Series.Count);
        foreach (var s in request.Series)
        {
            series.Add(new TimeSeries(Overwrite(s.Labels, device), s.Samples));
        }

        var rewritten = new WriteRequest(series, request.Metadata);
        var size = WriteRequestEncoder.GetEncodedSize(rewritten);
        if (size > limits.MaxDecompressedBytes)
        {
            // A longer device name than the one the sender wrote can push a body at the limit over it.
            throw new RemoteWriteException(RemoteWriteRejectReason.DecompressedTooLarge, string.Create(CultureInfo.InvariantCulture,
                $"decompressed size {size} with the device label set exceeds limit of {limits.MaxDecompressedBytes}"));
        }

        _ = RemoteWriteCodec.Encode(rewritten, output);
        return rewritten.SampleCount;
    }

    /// <summary><paramref name="labels"/> with <see cref="Name"/> = <paramref name="device"/> (replaced or added; order kept).</summary>
    public static LabelSet Overwrite(LabelSet labels, string device)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var span = labels.AsSpan();
        var result = new List<Label>(span.Length + 1);
        var placed = false;
        foreach (var label in span)
        {
            var order = string.CompareOrdinal(label.Name, Name);
            if (order == 0)
            {
                continue;
            }

            if (order > 0 && !placed)
            {
                result.Add(new Label(Name, device));
                placed = true;
            }

            result.Add(label);
        }

        if (!placed)
        {
            result.Add(new Label(Name, device));
        }

        return LabelSet.UnsafeFromSorted([.. result]);
    }
}
