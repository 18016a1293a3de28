using Flotel.Gateway.Outputs.Shared;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Queue;

namespace Flotel.Gateway.Outputs.Timestream;

/// <summary>
/// Queue records → one item per sample: each item is a one-sample <see cref="TimeSeries"/> sharing its series' label
/// set (no copy). Why: a Timestream record is one sample, a call takes at most 100 records, and the delivery driver
/// cuts batches by item count (<see cref="DeliveryOptions.MaxBatchItems"/>); with one sample per item, a batch of 100
/// items is a call of at most 100 records, whatever the senders put into a series (the Flotta device-worker sends
/// an hour of samples per series). It also lets a 419 name single records for the dead-letter file.
/// </summary>
public sealed class SampleRecordDecoder : IRecordDecoder<TimeSeries>
{
    private readonly SeriesRecordDecoder _series = new();
    private readonly List<(TimeSeries Item, int Bytes)> _scratch = [];

    /// <inheritdoc />
    public bool TryDecode(QueueRecord record, List<(TimeSeries Item, int Bytes)> into)
    {
        ArgumentNullException.ThrowIfNull(into);

        // The driver decodes on its one loop, so one scratch list is enough.
        _scratch.Clear();
        if (!_series.TryDecode(record, _scratch))
        {
            return false;
        }

        foreach (var (series, bytes) in _scratch)
        {
            var samples = series.Samples;
            if (samples.Count == 1)
            {
                into.Add((series, bytes));
                continue;
            }

            var labelBytes = bytes - (16 * samples.Count);
            foreach (var sample in samples)
            {
                into.Add((new TimeSeries(series.Labels, [sample]), labelBytes + 16));
            }
        }

        return true;
    }
}
