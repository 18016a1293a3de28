using Flotel.Wire.RemoteWrite;

namespace Flotel.Wire.Exposition;

/// <summary>
/// The labels of one sample line as UTF-8 views, in line order, escapes resolved. Valid only during
/// <see cref="IExpositionVisitor.Sample"/>; copy what must outlive the call.
/// </summary>
public readonly ref struct ExpositionLabels
{
    private readonly ReadOnlySpan<byte> _source;
    private readonly ReadOnlySpan<LabelRef> _refs;

    internal ExpositionLabels(ReadOnlySpan<byte> source, ReadOnlySpan<LabelRef> refs)
    {
        _source = source;
        _refs = refs;
    }

    /// <summary>Number of labels (the metric name is not one of them).</summary>
    public int Count => _refs.Length;

    /// <summary>The UTF-8 name of label <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> GetName(int index) => _source.Slice(_refs[index].NameStart, _refs[index].NameLength);

    /// <summary>The UTF-8 value of label <paramref name="index"/>, unescaped.</summary>
    public ReadOnlySpan<byte> GetValue(int index) => _source.Slice(_refs[index].ValueStart, _refs[index].ValueLength);

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
}
