using Flotel.Gateway.Outputs.Shared;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using Flotel.Model.Metrics;

namespace Flotel.Gateway.Outputs.InfluxDb;

/// <summary>
/// Batch → InfluxDB line protocol, one line per sample (InfluxDB line protocol reference, 1.x and 2.x):
/// <code>
/// node_cpu_seconds_total,cpu=0,device=dev1,mode=idle value=1234.5 1652386921000\n
/// └ measurement = __name__ ┘└ tags = the other labels (sorted) ┘└ field ┘└ ms (precision=ms) ┘
/// </code>
/// Escaping ("Special characters"): in the measurement commas and spaces; in tag keys and values commas, equal signs
/// and spaces, each with a backslash. A backslash itself depends on the version:
/// <list type="bullet">
/// <item>InfluxDB 2.x/3.x (the 2.x line-protocol reference): <c>\\</c> is one backslash, so a backslash that would
/// otherwise escape the next character (or ends the token) is doubled;</item>
/// <item>InfluxDB 1.x (the 1.x reference; influxd 1.6 checked in tests/Flotel.IntegrationTests/Outputs/InfluxDbOutputTests.cs):
/// the parser unescapes only <c>\,</c>, <c>\ </c> and (tags) <c>\=</c>, and a separator is escaped when the character
/// before it is a backslash, so a backslash is written as is: <c>x\,y</c> is written <c>x\\,y</c> and read back
/// <c>x\,y</c>, where the doubled form would be stored as <c>x\\,y</c>. 1.x cannot carry a token that ends in a
/// backslash (it would escape the separator after it): such a line is refused with 400.</item>
/// </list>
/// Line protocol cannot carry a newline in a tag, so LF and CR become the two characters <c>\n</c> and <c>\r</c>
/// (as the influxdb-python client writes them). Double quotes need no escape outside string fields. Empty
/// tag values are left out (line protocol does not allow them). The value is a float field written in round-trip
/// form with a lower-case exponent (<c>1e+16</c>).
/// </summary>
public static class LineProtocolEncoder
{
    /// <summary>The field every line carries.</summary>
    public const string FieldKey = "value";

    /// <summary>The line-protocol text of <paramref name="batch"/> (samples must be finite with a metric name: see <see cref="InfluxDbSampleDecoder"/>).</summary>
    /// <param name="batch">The samples, in order.</param>
    /// <param name="influxDb1">Escape for InfluxDB 1.x (backslashes written as is) instead of 2.x/3.x.</param>
    public static string EncodeText(IReadOnlyList<SeriesSample> batch, bool influxDb1 = false)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var text = new StringBuilder(batch.Count * 64);
        LabelSet? labels = null;
        var prefix = string.Empty;
        foreach (var (series, sample) in batch)
        {
            if (!ReferenceEquals(series, labels))
            {
                labels = series;
                prefix = Prefix(series, influxDb1);
            }

            text.Append(prefix).Append(' ').Append(FieldKey).Append('=');
            AppendFloat(text, sample.Value);
            text.Append(' ').Append(sample.TimestampMs.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The request body: UTF-8 line protocol, gzip-compressed when <paramref name="gzip"/>.</summary>
    public static byte[] Encode(IReadOnlyList<SeriesSample> batch, bool gzip, bool influxDb1 = false)
    {
        var bytes = Encoding.UTF8.GetBytes(EncodeText(batch, influxDb1));
        if (!gzip)
        {
            return bytes;
        }

        using var compressed = new MemoryStream(bytes.Length / 4);
        using (var stream = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            stream.Write(bytes);
        }

        return compressed.ToArray();
    }

    /// <summary><c>measurement,tag=value,…</c> for one series.</summary>
    public static string Prefix(LabelSet labels, bool influxDb1 = false)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var text = new StringBuilder();
        Append(text, labels.MetricName ?? string.Empty, measurement: true, influxDb1);
        foreach (var label in labels)
        {
            if (label.Name == Label.MetricNameLabel || label.Value.Length == 0)
            {
                continue;
            }

            text.Append(',');
            Append(text, label.Name, measurement: false, influxDb1);
            text.Append('=');
            Append(text, label.Value, measurement: false, influxDb1);
        }

        return text.ToString();
    }

    private static void Append(StringBuilder text, string token, bool measurement, bool influxDb1)
    {
        for (var i = 0; i < token.Length; i++)
        {
            var c = token[i];
            switch (c)
            {
                case ',' or ' ':
                    text.Append('\\').Append(c);
                    break;
                case '=' when !measurement:
                    text.Append('\\').Append(c);
                    break;
                case '\n':
                    text.Append("\\n");
                    break;
                case '\r':
                    text.Append("\\r");
                    break;
                case '\\' when influxDb1:
                    text.Append(c);
                    break;
                case '\\':
                    var next = i + 1 < token.Length ? token[i + 1] : '\0';
                    var escapes = next is '\0' or ',' or ' ' or '\\' or '\n' or '\r' || (next == '=' && !measurement);
                    text.Append(escapes ? "\\\\" : "\\");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }
    }

    private static void AppendFloat(StringBuilder text, double value)
    {
        Span<char> buffer = stackalloc char[32];
        _ = value.TryFormat(buffer, out var written, "R", CultureInfo.InvariantCulture);
        for (var i = 0; i < written; i++)
        {
            text.Append(buffer[i] == 'E' ? 'e' : buffer[i]);
        }
    }
}
