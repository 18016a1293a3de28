using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Wire.Exposition;

/// <summary>
/// Streaming parser for the Prometheus text exposition format 0.0.4 ("Exposition formats", text-based
/// format), tolerant of OpenMetrics 1.0 text: <c># EOF</c>, <c># UNIT</c>, the OpenMetrics types, exemplars
/// (<c>… # {trace_id="x"} 1</c>, skipped) and float-second timestamps when told the format is OpenMetrics.
/// <code>
/// line   = ws* ( "#" comment | sample | "" ) "\r"? "\n"
/// sample = name ws* [ "{" [ label ( "," label )* [","] ] "}" ] ws+ value [ ws+ timestamp ] [ ws* "#" exemplar ] ws*
/// label  = ws* lname ws* "=" ws* '"' ( escaped | any-but-quote-backslash-newline )* '"' ws*      escaped = \\ \" \n
/// value  = Go float | NaN | +Inf | -Inf                                                          timestamp = int64 ms
/// </code>
/// A malformed line is reported to the visitor with its 1-based number and a reason, then skipped; every
/// other line is still delivered (bad input counted, good kept). Histograms and summaries are their sample
/// lines (<c>_bucket{le=…}</c>, <c>_sum</c>, <c>_count</c>, quantiles). One instance parses one body at a
/// time; its scratch buffers are reused, so steady-state parsing allocates nothing per line.
/// </summary>
public sealed class ExpositionParser
{
    /// <summary>
    /// 1 MiB: bounds the bytes buffered while waiting for a newline. node_exporter's longest lines are a few
    /// hundred bytes; a "line" of a megabyte is a broken or hostile target.
    /// </summary>
    public const int DefaultMaxLineBytes = 1024 * 1024;

    /// <summary>64: more labels on one line than any exporter writes; bounds the label scratch.</summary>
    public const int MaxLabelsPerLine = 64;

    private readonly ExpositionFormat _format;
    private readonly int _maxLineBytes;
    private readonly LabelRef[] _labels = new LabelRef[MaxLabelsPerLine];
    private byte[] _scratch = new byte[256];
    private byte[] _lineCopy = [];
    private bool _discarding;
    private bool _eofSeen;
    private int _lines;
    private int _samples;
    private int _errors;

    /// <summary>Creates a parser for one format.</summary>
    public ExpositionParser(ExpositionFormat format = ExpositionFormat.PrometheusText, int maxLineBytes = DefaultMaxLineBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 16);
        _format = format;
        _maxLineBytes = maxLineBytes;
    }

    /// <summary>Counts since the last <see cref="Reset"/>.</summary>
    public ExpositionStats Stats => new(_lines, _samples, _errors);

    /// <summary>The format for a scrape's Content-Type (<c>application/openmetrics-text</c> → OpenMetrics, anything else → text 0.0.4).</summary>
    public static ExpositionFormat FormatFromContentType(string? contentType) =>
        contentType is not null && contentType.TrimStart().StartsWith("application/openmetrics-text", StringComparison.OrdinalIgnoreCase)
            ? ExpositionFormat.OpenMetrics
            : ExpositionFormat.PrometheusText;

    /// <summary>Starts a new body: line numbers, counts and the EOF state are cleared.</summary>
    public void Reset()
    {
        _discarding = false;
        _eofSeen = false;
        _lines = 0;
        _samples = 0;
        _errors = 0;
    }

    /// <summary>
    /// Parses the next complete (newline-terminated) line. Returns false and consumes nothing when no
    /// complete line is buffered — except that a partial line over the length limit is reported once and
    /// its bytes discarded up to the next newline (so memory stays bounded).
    /// </summary>
    public bool TryParseLine<TVisitor>(ref SequenceReader<byte> reader, TVisitor visitor)
        where TVisitor : IExpositionVisitor
    {
        ArgumentNullException.ThrowIfNull(visitor);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n', advancePastDelimiter: true))
        {
            if (_discarding && reader.Remaining > 0)
            {
                reader.AdvanceToEnd();
                return true;
            }

            if (reader.Remaining > _maxLineBytes)
            {
                _lines++;
                ReportError(visitor, ExpositionErrorReason.LineTooLong);
                _discarding = true;
                reader.AdvanceToEnd();
                return true;
            }

            return false;
        }

        if (_discarding)
        {
            _discarding = false; // the tail of the over-long line already reported
            return true;
        }

        _lines++;
        if (line.Length > _maxLineBytes)
        {
            ReportError(visitor, ExpositionErrorReason.LineTooLong);
            return true;
        }

        ParseLine(AsSpan(line), visitor);
        return true;
    }

    /// <summary>At end of input: parses what remains in <paramref name="reader"/> as a final line without newline.</summary>
    public void ParseFinal<TVisitor>(ref SequenceReader<byte> reader, TVisitor visitor)
        where TVisitor : IExpositionVisitor
    {
        ArgumentNullException.ThrowIfNull(visitor);
        while (TryParseLine(ref reader, visitor))
        {
        }

        if (reader.Remaining == 0)
        {
            return;
        }

        var rest = reader.UnreadSequence;
        reader.AdvanceToEnd();
        if (_discarding)
        {
            _discarding = false;
            return;
        }

        _lines++;
        ParseLine(AsSpan(rest), visitor);
    }

    /// <summary>Parses a whole body held in memory.</summary>
    public ExpositionStats Parse<TVisitor>(ReadOnlySpan<byte> text, TVisitor visitor)
        where TVisitor : IExpositionVisitor
    {
        ArgumentNullException.ThrowIfNull(visitor);
        Reset();
        while (!text.IsEmpty)
        {
            var newline = text.IndexOf((byte)'\n');
            var line = newline < 0 ? text : text[..newline];
            text = newline < 0 ? default : text[(newline + 1)..];
            _lines++;
            if (line.Length > _maxLineBytes)
            {
                ReportError(visitor, ExpositionErrorReason.LineTooLong);
                continue;
            }

            ParseLine(line, visitor);
        }

        return Stats;
    }

    /// <summary>Parses a whole body into model objects (allocates; for tests, tools and low-rate scrapes).</summary>
    public static ExpositionResult ParseAll(ReadOnlySpan<byte> text, ExpositionFormat format = ExpositionFormat.PrometheusText)
    {
        var collector = new Collector();
        new ExpositionParser(format).Parse(text, collector);
        return new ExpositionResult(collector.Samples, collector.Errors, collector.Types, collector.HelpTexts);
    }

    private ReadOnlySpan<byte> AsSpan(ReadOnlySequence<byte> sequence)
    {
        if (sequence.IsSingleSegment)
        {
            return sequence.FirstSpan;
        }

        var length = (int)sequence.Length;
        if (_lineCopy.Length < length)
        {
            _lineCopy = new byte[Math.Max(length, _lineCopy.Length * 2)];
        }

        sequence.CopyTo(_lineCopy);
        return _lineCopy.AsSpan(0, length);
    }

    private void ReportError<TVisitor>(TVisitor visitor, ExpositionErrorReason reason)
        where TVisitor : IExpositionVisitor
    {
        _errors++;
        visitor.Error(_lines, reason);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsBlank(byte b) => b is (byte)' ' or (byte)'\t';

    private static ReadOnlySpan<byte> TrimBlank(ReadOnlySpan<byte> s)
    {
        var start = 0;
        while (start < s.Length && IsBlank(s[start]))
        {
            start++;
        }

        var end = s.Length;
        while (end > start && (IsBlank(s[end - 1]) || s[end - 1] == (byte)'\r'))
        {
            end--;
        }

        return s[start..end];
    }

    private void ParseLine<TVisitor>(ReadOnlySpan<byte> line, TVisitor visitor)
        where TVisitor : IExpositionVisitor
    {
        line = TrimBlank(line);
        if (line.IsEmpty)
        {
            return;
        }

        if (_eofSeen)
        {
            ReportError(visitor, ExpositionErrorReason.ContentAfterEof);
            return;
        }

        if (line[0] == (byte)'#')
        {
            ParseComment(line[1..], visitor);
            return;
        }

        var reason = ParseSample(line, visitor);
        if (reason is { } r)
        {
            ReportError(visitor, r);
        }
        else
        {
            _samples++;
        }
    }

    private void ParseComment<TVisitor>(ReadOnlySpan<byte> rest, TVisitor visitor)
        where TVisitor : IExpositionVisitor
    {
        rest = TrimBlank(rest);
        var keyword = NextToken(ref rest);
        var isHelp = keyword.SequenceEqual("HELP"u8);
        var isType = !isHelp && keyword.SequenceEqual("TYPE"u8);
        if (!isHelp && !isType)
        {
            if (keyword.SequenceEqual("EOF"u8) && rest.IsEmpty)
            {
                _eofSeen = true; // OpenMetrics: "# EOF" ends the exposition.
            }

            return; // Any other comment, and OpenMetrics "# UNIT", carries nothing we keep.
        }

        var name = NextToken(ref rest);
        if (!LabelRules.IsValidMetricName(name))
        {
            ReportError(visitor, ExpositionErrorReason.InvalidMetadataLine);
            return;
        }

        if (isHelp)
        {
            visitor.Help(name, rest);
            return;
        }

        var type = NextToken(ref rest);
        ExpositionMetricType? parsed = type switch
        {
            _ when type.SequenceEqual("counter"u8) => ExpositionMetricType.Counter,
            _ when type.SequenceEqual("gauge"u8) => ExpositionMetricType.Gauge,
            _ when type.SequenceEqual("histogram"u8) => ExpositionMetricType.Histogram,
            _ when type.SequenceEqual("summary"u8) => ExpositionMetricType.Summary,
            _ when type.SequenceEqual("untyped"u8) || type.SequenceEqual("unknown"u8) => ExpositionMetricType.Untyped,
            _ when type.SequenceEqual("gaugehistogram"u8) => ExpositionMetricType.GaugeHistogram,
            _ when type.SequenceEqual("info"u8) => ExpositionMetricType.Info,
            _ when type.SequenceEqual("stateset"u8) => ExpositionMetricType.StateSet,
            _ => null,
        };
        if (parsed is null || !rest.IsEmpty)
        {
            ReportError(visitor, ExpositionErrorReason.UnknownType);
            return;
        }

        visitor.Type(name, parsed.Value);
    }

    /// <summary>Returns the next blank-separated token and leaves <paramref name="rest"/> after the blanks that follow it.</summary>
    private static ReadOnlySpan<byte> NextToken(ref ReadOnlySpan<byte> rest)
    {
        var end = rest.IndexOfAny((byte)' ', (byte)'\t');
        ReadOnlySpan<byte> token;
        if (end < 0)
        {
            token = rest;
            rest = default;
            return token;
        }

        token = rest[..end];
        var next = end;
        while (next < rest.Length && IsBlank(rest[next]))
        {
            next++;
        }

        rest = rest[next..];
        return token;
    }

    private ExpositionErrorReason? ParseSample<TVisitor>(ReadOnlySpan<byte> line, TVisitor visitor)
        where TVisitor : IExpositionVisitor
    {
        var pos = 0;
        while (pos < line.Length && IsMetricNameByte(line[pos]))
        {
            pos++;
        }

        var name = line[..pos];
        if (!LabelRules.IsValidMetricName(name) || (pos < line.Length && !IsBlank(line[pos]) && line[pos] != (byte)'{'))
        {
            return ExpositionErrorReason.InvalidMetricName; // e.g. "1up 1", "up-time 1"
        }

        // Names go first into the scratch so label offsets can refer to one buffer.
        var scratchLength = 0;
        EnsureScratch(line.Length);
        var labelCount = 0;
        pos = SkipBlank(line, pos);
        if (pos < line.Length && line[pos] == (byte)'{')
        {
            pos++;
            while (true)
            {
                pos = SkipBlank(line, pos);
                if (pos >= line.Length)
                {
                    return ExpositionErrorReason.UnterminatedLabels;
                }

                if (line[pos] == (byte)'}')
                {
                    pos++;
                    break;
                }

                var nameStart = pos;
                while (pos < line.Length && IsLabelNameByte(line[pos]))
                {
                    pos++;
                }

                var labelName = line[nameStart..pos];
                if (!LabelRules.IsValidLabelName(labelName))
                {
                    return ExpositionErrorReason.InvalidLabelName;
                }

                pos = SkipBlank(line, pos);
                if (pos >= line.Length || line[pos] != (byte)'=')
                {
                    return ExpositionErrorReason.InvalidLabelName;
                }

                pos = SkipBlank(line, pos + 1);
                if (pos >= line.Length || line[pos] != (byte)'"')
                {
                    return ExpositionErrorReason.InvalidLabelName;
                }

                pos++;
                var scratch = _scratch.AsSpan();
                var labelNameAt = scratchLength;
                labelName.CopyTo(scratch[scratchLength..]);
                scratchLength += labelName.Length;
                var valueAt = scratchLength;
                while (true)
                {
                    if (pos >= line.Length)
                    {
                        return ExpositionErrorReason.UnterminatedLabels;
                    }

                    var run = line[pos..].IndexOfAny((byte)'"', (byte)'\\');
                    if (run < 0)
                    {
                        return ExpositionErrorReason.UnterminatedLabels;
                    }

                    line.Slice(pos, run).CopyTo(scratch[scratchLength..]);
                    scratchLength += run;
                    pos += run;
                    if (line[pos] == (byte)'"')
                    {
                        pos++;
                        break;
                    }

                    // Backslash: text format 0.0.4 defines exactly three escapes in label values.
                    if (pos + 1 >= line.Length)
                    {
                        return ExpositionErrorReason.UnterminatedLabels;
                    }

                    scratch[scratchLength++] = line[pos + 1] switch
                    {
                        (byte)'\\' => (byte)'\\',
                        (byte)'"' => (byte)'"',
                        (byte)'n' => (byte)'\n',
                        _ => 0,
                    };
                    if (scratch[scratchLength - 1] == 0)
                    {
                        return ExpositionErrorReason.InvalidEscape;
                    }

                    pos += 2;
                }

                var value = scratch[valueAt..scratchLength];
                if (!Utf8.IsValid(value))
                {
                    return ExpositionErrorReason.InvalidUtf8;
                }

                for (var i = 0; i < labelCount; i++)
                {
                    if (scratch.Slice(_labels[i].NameStart, _labels[i].NameLength).SequenceEqual(labelName))
                    {
                        return ExpositionErrorReason.DuplicateLabelName;
                    }
                }

                if (labelCount == MaxLabelsPerLine)
                {
                    return ExpositionErrorReason.InvalidLabelName;
                }

                _labels[labelCount++] = new LabelRef(labelNameAt, labelName.Length, valueAt, value.Length);
                pos = SkipBlank(line, pos);
                if (pos < line.Length && line[pos] == (byte)',')
                {
                    pos++;
                }
                else if (pos >= line.Length || line[pos] != (byte)'}')
                {
                    return ExpositionErrorReason.UnterminatedLabels;
                }
            }
        }

        var rest = line[SkipBlank(line, pos)..];
        var valueToken = NextToken(ref rest);
        if (valueToken.IsEmpty)
        {
            return ExpositionErrorReason.MissingValue;
        }

        if (!TryParseValue(valueToken, out var sampleValue))
        {
            return ExpositionErrorReason.InvalidValue;
        }

        long? timestamp = null;
        if (!rest.IsEmpty && rest[0] != (byte)'#')
        {
            var tsToken = NextToken(ref rest);
            if (!TryParseTimestamp(tsToken, out var ts))
            {
                return ExpositionErrorReason.InvalidTimestamp;
            }

            timestamp = ts;
        }

        // OpenMetrics exemplar ("# {labels} value [timestamp]"): not kept.
        if (!rest.IsEmpty && rest[0] != (byte)'#')
        {
            return ExpositionErrorReason.TrailingCharacters;
        }

        visitor.Sample(name, new ExpositionLabels(_scratch, _labels.AsSpan(0, labelCount)), sampleValue, timestamp);
        return null;
    }

    private void EnsureScratch(int lineLength)
    {
        // Unescaping never grows text, and names + values together are shorter than the line.
        if (_scratch.Length < lineLength)
        {
            _scratch = new byte[Math.Max(lineLength, _scratch.Length * 2)];
        }
    }

    private static int SkipBlank(ReadOnlySpan<byte> s, int pos)
    {
        while (pos < s.Length && IsBlank(s[pos]))
        {
            pos++;
        }

        return pos;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsMetricNameByte(byte b) => IsLabelNameByte(b) || b == (byte)':';

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsLabelNameByte(byte b) => (uint)((b | 0x20) - 'a') <= 'z' - 'a' || (uint)(b - '0') <= 9 || b == (byte)'_';

    /// <summary>Go's ParseFloat as used by Prometheus: decimal/exponent floats, and case-insensitive [+-]Inf/Infinity/NaN.</summary>
    private static bool TryParseValue(ReadOnlySpan<byte> token, out double value)
    {
        if (double.TryParse(token, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out value))
        {
            return true;
        }

        if (IsInfinityToken(token, out var negative))
        {
            value = negative ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }

        if (Ascii.EqualsIgnoreCase(token, "nan"u8))
        {
            value = double.NaN;
            return true;
        }

        return false;
    }

    private static bool IsInfinityToken(ReadOnlySpan<byte> token, out bool negative)
    {
        negative = false;
        if (!token.IsEmpty && (token[0] == (byte)'+' || token[0] == (byte)'-'))
        {
            negative = token[0] == (byte)'-';
            token = token[1..];
        }

        return Ascii.EqualsIgnoreCase(token, "inf"u8) || Ascii.EqualsIgnoreCase(token, "infinity"u8);
    }

    private bool TryParseTimestamp(ReadOnlySpan<byte> token, out long timestampMs)
    {
        if (_format == ExpositionFormat.PrometheusText)
        {
            return long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out timestampMs);
        }

        // OpenMetrics: float seconds since the epoch.
        if (double.TryParse(token, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var seconds)
            && double.IsFinite(seconds) && Math.Abs(seconds) < 9.2e15)
        {
            timestampMs = (long)Math.Round(seconds * 1000d, MidpointRounding.AwayFromZero);
            return true;
        }

        timestampMs = 0;
        return false;
    }

    /// <summary>Builds model objects for <see cref="ParseAll"/>.</summary>
    private sealed class Collector : IExpositionVisitor
    {
        public List<ExpositionSample> Samples { get; } = [];

        public List<ExpositionError> Errors { get; } = [];

        public Dictionary<string, ExpositionMetricType> Types { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, string> HelpTexts { get; } = new(StringComparer.Ordinal);

        public void Sample(ReadOnlySpan<byte> metricName, ExpositionLabels labels, double value, long? timestampMs)
        {
            var list = new Label[labels.Count + 1];
            list[0] = new Label(Label.MetricNameLabel, Encoding.UTF8.GetString(metricName));
            for (var i = 0; i < labels.Count; i++)
            {
                list[i + 1] = new Label(Encoding.UTF8.GetString(labels.GetName(i)), Encoding.UTF8.GetString(labels.GetValue(i)));
            }

            Samples.Add(new ExpositionSample(new LabelSet(list), value, timestampMs));
        }

        public void Type(ReadOnlySpan<byte> metricName, ExpositionMetricType type) => Types[Encoding.UTF8.GetString(metricName)] = type;

        public void Help(ReadOnlySpan<byte> metricName, ReadOnlySpan<byte> text) =>
            HelpTexts[Encoding.UTF8.GetString(metricName)] = UnescapeHelp(Encoding.UTF8.GetString(text));

        /// <summary>HELP escapes (text format 0.0.4): <c>\\</c> and <c>\n</c>; any other backslash stays as written.</summary>
        private static string UnescapeHelp(string text)
        {
            if (!text.Contains('\\', StringComparison.Ordinal))
            {
                return text;
            }

            var sb = new StringBuilder(text.Length);
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] is '\\' or 'n')
                {
                    sb.Append(text[i + 1] == 'n' ? '\n' : '\\');
                    i++;
                }
                else
                {
                    sb.Append(text[i]);
                }
            }

            return sb.ToString();
        }

        public void Error(int line, ExpositionErrorReason reason) => Errors.Add(new ExpositionError(line, reason));
    }
}
