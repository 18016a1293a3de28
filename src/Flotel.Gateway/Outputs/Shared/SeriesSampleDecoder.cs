using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Queue;

namespace Flotel.Gateway.Outputs.Shared;

/// <summary>
/// Queue records → one item per sample (see <see cref="SeriesSample"/>), built on <see cref="SeriesRecordDecoder"/>.
/// An item's size is its series' label bytes plus 16, so a batch's byte estimate never undercounts the request.
/// Used by the driver's single loop only (not thread-safe).
/// </summary>
public sealed class SeriesSampleDecoder : IRecordDecoder<SeriesSample>
{
    private readonly SeriesRecordDecoder _series = new();
    private readonly List<(TimeSeries Item, int Bytes)> _scratch = [];

    /// <inheritdoc />
    public bool TryDecode(QueueRecord record, List<(SeriesSample Item, int Bytes)> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        _scratch.Clear();
        if (!_series.TryDecode(record, _scratch))
        {
            return false;
        }

        foreach (var (series, _) in _scratch)
        {
            var labelBytes = 0;
            foreach (var label in series.Labels)
            {
                labelBytes += label.Name.Length + label.Value.Length + 4;
            }

            foreach (var sample in series.Samples)
            {
                into.Add((new SeriesSample(series.Labels, sample), labelBytes + 16));
            }
        }

        _scratch.Clear();
        return true;
    }
}
