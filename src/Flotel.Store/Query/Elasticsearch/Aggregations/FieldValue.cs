using System.Globalization;

namespace Flotel.Store.Query.Elasticsearch.Aggregations;

/// <summary>What a field holds in one document: nothing, one scalar, or several (a JSON array such as <c>tags</c>).</summary>
internal enum ValueKind : byte
{
    Missing,
    Long,
    Double,
    Text,
    Bool,
    Many,
}

/// <summary>
/// One document's value of one field, as the executor reads it: a struct reused row after row, so reading a million
/// timestamps allocates nothing. <see cref="Many"/> holds the scalars of an array (boxed long, double, string or bool).
/// </summary>
internal struct FieldValue
{
    public ValueKind Kind;
    public long Long;
    public double Double;
    public string? Text;
    public object[]? Many;

    public void SetMissing()
    {
        Kind = ValueKind.Missing;
        Text = null;
        Many = null;
    }

    public void Set(long value)
    {
        Kind = ValueKind.Long;
        Long = value;
    }

    public void Set(double value)
    {
        Kind = ValueKind.Double;
        Double = value;
    }

    public void Set(string value)
    {
        Kind = ValueKind.Text;
        Text = value;
    }

    public void Set(bool value)
    {
        Kind = ValueKind.Bool;
        Long = value ? 1 : 0;
    }

    public void Set(object[] values)
    {
        if (values.Length == 0)
        {
            SetMissing();
            return;
        }

        if (values.Length == 1)
        {
            SetScalar(values[0]);
            return;
        }

        Kind = ValueKind.Many;
        Many = values;
    }

    public void SetScalar(object value)
    {
        switch (value)
        {
            case long l:
                Set(l);
                break;
            case double d:
                Set(d);
                break;
            case bool b:
                Set(b);
                break;
            default:
                Set(Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty);
                break;
        }
    }

    /// <summary>The scalars held: none, one, or each element of <see cref="Many"/>, as a small array (boxed).</summary>
    public readonly int Count => Kind switch { ValueKind.Missing => 0, ValueKind.Many => Many!.Length, _ => 1 };

    /// <summary>The <paramref name="i"/>-th scalar (boxed); only for the rare multi-valued path and result keys.</summary>
    public readonly object Get(int i) => Kind switch
    {
        ValueKind.Long => Long,
        ValueKind.Double => Double,
        ValueKind.Text => Text!,
        ValueKind.Bool => Long != 0,
        ValueKind.Many => Many![i],
        _ => throw new InvalidOperationException("no value"),
    };
}
