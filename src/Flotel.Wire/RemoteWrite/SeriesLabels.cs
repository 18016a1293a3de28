using Flotel.Model.Metrics;

namespace Flotel.Wire.RemoteWrite;

/// <summary>
/// The validated labels of one series during a streaming decode: UTF-8 views into the request buffer,
/// sorted by name (byte order), without empty-valued labels. Valid only inside
/// <see cref="IWriteRequestVisitor.BeginSeries"/>; copy what must outlive the call.
/// </summary>
public readonly ref struct SeriesLabels
{
    private readonly ReadOnlySpan<byte> _source;
    private readonly ReadOnlySpan<LabelRef> _refs;
    private readonly int _metricNameIndex;

    internal SeriesLabels(ReadOnlySpan<byte> source, ReadOnlySpan<LabelRef> refs, int metricNameIndex)
    {
        _source = source;
        _refs = refs;
        _metricNameIndex = metricNameIndex;
    }

    /// <summary>Number of labels, <c>__name__</c> included.</summary>
    public int Count => _refs.Length;

    /// <summary>The value of <c>__name__</c> (always present and valid once a series is visited).</summary>
    public ReadOnlySpan<byte> MetricName => GetValue(_metricNameIndex);

    /// <summary>The UTF-8 name of label <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> GetName(int index)
    {
        var r = _refs[index];
        return _source.Slice(r.NameStart, r.NameLength);
    }

    /// <summary>The UTF-8 value of label <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> GetValue(int index)
    {
        var r = _refs[index];
        return _source.Slice(r.ValueStart, r.ValueLength);
    }

    /// <summary>Finds a label by its UTF-8 name.</summary>
    public bool TryGetValue(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        for (var i = 0; i < _refs.Length; i++)
        {
            if (GetName(i).SequenceEqual(name))
            {
                value = GetValue(i);
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>Copies the labels into a model <see cref="LabelSet"/> (allocates strings).</summary>
    public LabelSet ToLabelSet()
    {
        var labels = new Label[_refs.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = new Label(System.Text.Encoding.UTF8.GetString(GetName(i)), System.Text.Encoding.UTF8.GetString(GetValue(i)));
        }

        return LabelSet.UnsafeFromSorted(labels);
    }
}
