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
/// an hour of samples per series). It also lets a 419 name single records for the dead-letter file. The splitting is
/// <see cref="SeriesSampleDecoder"/>'s (shared with remote_write and influxdb); this only re-wraps each sample.
/// </summary>
public sealed class SampleRecordDecoder : IRecordDecoder<TimeSeries>
{
    private readonly SeriesSampleDecoder _samples = new();
    private readonly List<(SeriesSample Item, int Bytes)> _scratch = [];

    /// <inheritdoc />
    public bool TryDecode(QueueRecord record, List<(TimeSeries Item, int Bytes)> into)
    {
        ArgumentNullException.ThrowIfNull(into);

        // The driver decodes on its one loop, so one scratch list is enough.
        _scratch.Clear();
        if (!_samples.TryDecode(record, _scratch))
        {
            return false;
        }

        foreach (var (item, bytes) in _scratch)
        {
            into.Add((new TimeSeries(item.Labels, [item.Sample]), bytes));
        }

        _scratch.Clear();
        return true;
    }
}
