using System.Globalization;
using System.Text.Json;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch.Aggregations;

namespace Flotel.Store.Query.Elasticsearch;

/// <summary>A parsed search request: query, sort, paging and the <c>_source</c> option.</summary>
public sealed record SearchRequest(LogQuery Query, IReadOnlyList<LogSort> Sort, int From, int Size, SourceFilter Source)
{
    /// <summary>Count exactly up to this many hits, then report "gte" (ES's <c>track_total_hits</c>, default 10000); null = exact.</summary>
    public int? TrackTotalHitsUpTo { get; init; } = QueryDslParser.DefaultTrackTotalHits;

    /// <summary>How hits are shown: <c>fields</c>, <c>docvalue_fields</c>, <c>highlight</c>, <c>version</c>.</summary>
    public DisplayOptions Display { get; init; } = DisplayOptions.None;
    /// <summary>The body's <c>aggs</c> (or <c>aggregations</c>); empty when it has none.</summary>
    public IReadOnlyList<Aggregation> Aggregations { get; init; } = [];

    /// <summary>Elasticsearch's <c>terminate_after</c>: matches collected per index at most; null = all.</summary>
    public int? TerminateAfter { get; init; }

    /// <summary>The body's <c>search_after</c> values (long, double, string, bool or null), or null.</summary>
    public IReadOnlyList<object?>? SearchAfter { get; init; }

    /// <summary>The body's <c>pit</c> (point in time), or null.</summary>
    public PitReference? Pit { get; init; }
}

/// <summary>
/// Parses the Elasticsearch query DSL subset of architecture §6 from a request body (and the <c>q</c>, <c>size</c>,
/// <c>from</c>, <c>sort</c>, <c>_source</c> URL parameters). Anything outside the subset is a 400
/// <c>parsing_exception</c> naming the part, never silently ignored.
/// </summary>
public static class QueryDslParser
{
    /// <summary>Elasticsearch's default page size.</summary>
    public const int DefaultSize = 10;

    /// <summary>Elasticsearch 7's default <c>track_total_hits</c>: exact counts up to 10000.</summary>
    public const int DefaultTrackTotalHits = 10_000;

    /// <summary>
    /// The score of every hit: the store ranks nothing, so every match scores 1.0, as under Elasticsearch's
    /// <c>constant_score</c>. <c>min_score</c> is applied against it: at most 1.0 keeps every match, above it none.
    /// </summary>
    public const double ConstantScore = 1.0;

    /// <summary>
    /// Deepest JSON accepted in a request body (System.Text.Json's default, stated so it cannot change unseen). It
    /// bounds the recursion of <see cref="ParseQuery"/> over nested <c>bool</c> queries (two or three JSON levels each,
    /// so 20 to 30 of them, as Elasticsearch's <c>indices.query.bool.max_nested_depth</c>); deeper is a 400
    /// <c>parsing_exception</c>, never a stack overflow.
    /// </summary>
    public const int MaxJsonDepth = 64;

    // Top-level keys that change nothing here (scoring, tracking, timeouts) and are accepted as Kibana and clients send them.
    private static readonly HashSet<string> IgnoredKeys = new(StringComparer.Ordinal)
    {
        "timeout", "explain", "track_scores", "profile",
    };

    public static SearchRequest Parse(ReadOnlySpan<byte> body, IReadOnlyDictionary<string, string> urlParameters, int maxResultWindow)
    {
        LogQuery query = MatchAllQuery.Instance;
        List<LogSort> sort = [];
        int from = 0;
        int size = DefaultSize;
        SourceFilter source = SourceFilter.All;
        int? track = DefaultTrackTotalHits;
        DisplayOptions display = DisplayOptions.None;
        int? terminateAfter = null;
        double? minScore = null;
        bool sourceGiven = false;
        IReadOnlyList<Aggregation> aggregations = [];
        IReadOnlyList<object?>? searchAfter = null;
        PitReference? pit = null;
        if (HasBody(body))
        {
            ReadObject(body, property =>
            {
                switch (property.Name)
                {
                    case "query":
                        query = ParseQuery(property.Value);
                        break;
                    case "sort":
                        sort = ParseSort(property.Value);
                        break;
                    case "from":
                        from = ReadInt(property.Value, "from");
                        break;
                    case "size":
                        size = ReadInt(property.Value, "size");
                        break;
                    case "_source":
                        source = ParseSource(property.Value);
                        sourceGiven = true;
                        break;
                    case "aggs" or "aggregations":
                        aggregations = AggregationParser.Parse(property.Value);
                        break;
                    case "track_total_hits":
                        track = property.Value.ValueKind switch
                        {
                            JsonValueKind.True => null,
                            JsonValueKind.False => 0,
                            JsonValueKind.Number when property.Value.TryGetInt32(out int upTo) && upTo >= 0 => upTo,
                            _ => throw ElasticsearchException.Parsing("[track_total_hits] must be a boolean or a non-negative integer"),
                        };
                        break;
                    case "search_after":
                        searchAfter = ParseSearchAfter(property.Value);
                        break;
                    case "pit":
                        pit = ParsePit(property.Value);
                        break;
                    case "terminate_after":
                        // Elasticsearch: 0 is its default (no limit), a negative count an illegal argument.
                        int stopAfter = ReadInt(property.Value, "terminate_after");
                        terminateAfter = stopAfter switch
                        {
                            < 0 => throw ElasticsearchException.IllegalArgument("terminateAfter must be > 0"),
                            0 => null,
                            _ => stopAfter,
                        };
                        break;
                    case "min_score":
                        minScore = property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetDouble(out double least) && double.IsFinite(least)
                            ? least
                            : throw ElasticsearchException.Parsing("[min_score] must be a number");
                        break;
                    default:
                        display = ReferenceEquals(display, DisplayOptions.None) ? new DisplayOptions() : display;
                        if (!display.TryRead(property.Name, property.Value) && !IgnoredKeys.Contains(property.Name))
                        {
                            throw ElasticsearchException.Parsing($"Unknown key [{property.Name}]: not supported by this gateway (query, sort, from, size, _source, fields, docvalue_fields, highlight, track_total_hits, aggs, terminate_after, min_score, search_after, pit are)");
                        }

                        break;
                }
            });
        }

        if (urlParameters.TryGetValue("q", out string? q))
        {
            query = UrlQuery(q, urlParameters);
        }

        if (urlParameters.TryGetValue("size", out string? sizeText))
        {
            size = ParseIntParameter(sizeText, "size");
        }

        if (urlParameters.TryGetValue("from", out string? fromText))
        {
            from = ParseIntParameter(fromText, "from");
        }

        if (urlParameters.TryGetValue("sort", out string? sortText))
        {
            sort = ParseSortParameter(sortText);
        }

        // Elasticsearch: with stored_fields, _source is returned only when asked for.
        if (display.StoredFieldsGiven && !sourceGiven && !urlParameters.ContainsKey("_source"))
        {
            source = SourceFilter.None;
        }

        if (urlParameters.TryGetValue("_source", out string? sourceText))
        {
            source = sourceText switch
            {
                "true" => SourceFilter.All,
                "false" => SourceFilter.None,
                _ => new SourceFilter(true, sourceText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), []),
            };
        }

        if (from < 0)
        {
            throw ElasticsearchException.IllegalArgument($"[from] parameter cannot be negative but was [{from.ToString(CultureInfo.InvariantCulture)}]");
        }

        if (size < 0)
        {
            throw ElasticsearchException.IllegalArgument($"[size] parameter cannot be negative, found [{size.ToString(CultureInfo.InvariantCulture)}]");
        }

        if ((long)from + size > maxResultWindow)
        {
            throw ElasticsearchException.IllegalArgument(
                $"Result window is too large, from + size must be less than or equal to: [{maxResultWindow.ToString(CultureInfo.InvariantCulture)}] but was [{((long)from + size).ToString(CultureInfo.InvariantCulture)}].");
        }

        if (urlParameters.TryGetValue("track_total_hits", out string? trackText))
        {
            track = trackText switch { "true" or "" => null, "false" => 0, _ => ParseIntParameter(trackText, "track_total_hits") };
        }

        if (terminateAfter is not null && aggregations.Count > 0)
        {
            // Aggregations run over every match; cutting the hits alone would answer two different sets.
            throw ElasticsearchException.IllegalArgument("[terminate_after] together with [aggs] is not supported by this gateway");
        }

        if (searchAfter is not null && from > 0)
        {
            throw ElasticsearchException.IllegalArgument("[from] parameter must be set to 0 when [search_after] is used");
        }

        if (searchAfter is not null && sort.Count == 0 && pit is null)
        {
            // search_after resumes after a hit's sort values, and a search without a sort shows none (Elasticsearch
            // refuses it too); in a point in time the document order is the sort when none is named.
            throw ElasticsearchException.IllegalArgument("[search_after] needs a [sort] (or a [pit], which sorts on the document order)");
        }

        if (minScore > ConstantScore)
        {
            // Every match scores ConstantScore, so none reaches a higher min_score.
            query = MatchNoneQuery.Instance;
        }

        return new SearchRequest(query, sort, from, size, source)
        {
            TrackTotalHitsUpTo = track, Display = display, TerminateAfter = terminateAfter, Aggregations = aggregations, SearchAfter = searchAfter, Pit = pit,
        };
    }

    /// <summary>
    /// Parses a <c>_count</c> request as Elasticsearch's count action does: a body holds <c>query</c> and nothing else
    /// (another key, such as <c>pit</c>, <c>search_after</c> or <c>size</c>, is a 400 <c>parsing_exception</c> "request
    /// does not support [key]"); without a body, <c>q</c> (with <c>df</c> and <c>default_operator</c>) is the query; and
    /// <c>min_score</c> and <c>terminate_after</c> are URL parameters only. The caller refuses <c>q</c> and its companions
    /// next to a body (Elasticsearch leaves them unread there and answers "unrecognized parameter").
    /// </summary>
    public static SearchRequest ParseCount(ReadOnlySpan<byte> body, IReadOnlyDictionary<string, string> urlParameters)
    {
        LogQuery query = MatchAllQuery.Instance;
        if (HasBody(body))
        {
            ReadObject(body, property => query = property.Name == "query"
                ? ParseQuery(property.Value)
                : throw ElasticsearchException.Parsing($"request does not support [{property.Name}]"));
        }
        else if (urlParameters.TryGetValue("q", out string? q))
        {
            query = UrlQuery(q, urlParameters);
        }

        int? terminateAfter = null;
        if (urlParameters.TryGetValue("terminate_after", out string? stopText))
        {
            // Elasticsearch: 0 is its default (no limit), a negative count an illegal argument.
            int stopAfter = ParseIntParameter(stopText, "terminate_after");
            terminateAfter = stopAfter switch
            {
                < 0 => throw ElasticsearchException.IllegalArgument("terminateAfter must be > 0"),
                0 => null,
                _ => stopAfter,
            };
        }

        if (urlParameters.TryGetValue("min_score", out string? minText))
        {
            double minScore = double.TryParse(minText, NumberStyles.Float, CultureInfo.InvariantCulture, out double least) && double.IsFinite(least)
                ? least
                : throw ElasticsearchException.IllegalArgument($"Failed to parse float parameter [min_score] with value [{minText}]");
            if (minScore > ConstantScore)
            {
                // Every match scores ConstantScore, so none reaches a higher min_score.
                query = MatchNoneQuery.Instance;
            }
        }

        return new SearchRequest(query, [], 0, 0, SourceFilter.None) { TrackTotalHitsUpTo = null, TerminateAfter = terminateAfter };
    }

    /// <summary>True when <paramref name="body"/> holds more than white space (an empty body means "no body" to Elasticsearch).</summary>
    public static bool HasBody(ReadOnlySpan<byte> body) => !body.IsEmpty && !IsBlank(body);

    // The query of the URL parameter q, with its companions df and default_operator.
    private static LogQuery UrlQuery(string q, IReadOnlyDictionary<string, string> urlParameters)
    {
        bool and = urlParameters.TryGetValue("default_operator", out string? op) && op.Equals("and", StringComparison.OrdinalIgnoreCase);
        return QueryStringParser.Parse(q, urlParameters.GetValueOrDefault("df"), and);
    }

    // Parses a request body that must be a JSON object and hands each of its top-level members to read, in order.
    private static void ReadObject(ReadOnlySpan<byte> body, Action<JsonProperty> read)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = MaxJsonDepth });
        }
        catch (JsonException e)
        {
            throw ElasticsearchException.Parsing("request body is not valid JSON: " + e.Message);
        }

        using (document)
        {
            try
            {
                JsonElement root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    throw ElasticsearchException.Parsing("request body must be a JSON object");
                }

                foreach (JsonProperty property in root.EnumerateObject())
                {
                    read(property);
                }
            }
            catch (InvalidOperationException e) when (e.Source?.StartsWith("System.Text.Json", StringComparison.Ordinal) == true)
            {
                // JsonElement.GetString and property names refuse escapes that are not valid UTF-16 (a lone "\ud800").
                throw ElasticsearchException.Parsing("request body is not valid JSON: " + e.Message);
            }
        }
    }

    public static LogQuery ParseQuery(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw ElasticsearchException.Parsing("query must be an object");
        }

        using JsonElement.ObjectEnumerator properties = element.EnumerateObject();
        if (!properties.MoveNext())
        {
            throw ElasticsearchException.Parsing("query malformed, empty clause found");
        }

        JsonProperty clause = properties.Current;
        if (properties.MoveNext())
        {
            throw ElasticsearchException.Parsing($"[{clause.Name}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]");
        }

        JsonElement body = clause.Value;
        return clause.Name switch
        {
            "match_all" => MatchAllQuery.Instance,
            "match_none" => MatchNoneQuery.Instance,
            "match" => ParseMatch(body, phrase: false),
            "match_phrase" => ParseMatch(body, phrase: true),
            "term" => ParseTerm(body),
            "terms" => ParseTerms(body),
            "range" => ParseRange(body),
            "exists" => new ExistsQuery(RequireString(Member(body, "field", "exists"), "exists.field")),
            "prefix" => ParsePrefix(body),
            "bool" => ParseBool(body),
            "query_string" => ParseQueryString(body),
            _ => throw ElasticsearchException.Parsing($"unknown query [{clause.Name}]"),
        };
    }

    private static (string Field, JsonElement Value) SingleField(JsonElement body, string queryName)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw ElasticsearchException.Parsing($"[{queryName}] query malformed, no start_object after query name");
        }

        (string Field, JsonElement Value)? found = null;
        foreach (JsonProperty property in body.EnumerateObject())
        {
            if (property.Name is "boost" or "_name")
            {
                continue;
            }

            if (found is not null)
            {
                throw ElasticsearchException.Parsing($"[{queryName}] query doesn't support multiple fields, found [{found.Value.Field}] and [{property.Name}]");
            }

            found = (property.Name, property.Value);
        }

        return found ?? throw ElasticsearchException.Parsing($"[{queryName}] query requires a field");
    }

    private static LogQuery ParseMatch(JsonElement body, bool phrase)
    {
        string name = phrase ? "match_phrase" : "match";
        (string field, JsonElement value) = SingleField(body, name);
        bool all = false;
        if (value.ValueKind == JsonValueKind.Object)
        {
            if (value.TryGetProperty("operator", out JsonElement op))
            {
                string text = RequireString(op, name + ".operator");
                all = text.Equals("and", StringComparison.OrdinalIgnoreCase)
                    || (text.Equals("or", StringComparison.OrdinalIgnoreCase) ? false : throw ElasticsearchException.Parsing($"[{name}] unknown operator [{text}]"));
            }

            value = Member(value, "query", name);
        }

        string query = ScalarText(value, name);
        return phrase ? new PhraseQuery(field, query) : new MatchQuery(field, query, all);
    }

    private static TermsQuery ParseTerm(JsonElement body)
    {
        (string field, JsonElement value) = SingleField(body, "term");
        if (value.ValueKind == JsonValueKind.Object)
        {
            value = Member(value, "value", "term");
        }

        return new TermsQuery(field, [Scalar(value, "term")]);
    }

    private static TermsQuery ParseTerms(JsonElement body)
    {
        (string field, JsonElement value) = SingleField(body, "terms");
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw ElasticsearchException.Parsing("[terms] query requires an array of values");
        }

        return new TermsQuery(field, [.. value.EnumerateArray().Select(v => Scalar(v, "terms"))]);
    }

    private static PrefixQuery ParsePrefix(JsonElement body)
    {
        (string field, JsonElement value) = SingleField(body, "prefix");
        if (value.ValueKind == JsonValueKind.Object)
        {
            value = Member(value, "value", "prefix");
        }

        return new PrefixQuery(field, ScalarText(value, "prefix"));
    }

    private static RangeQuery ParseRange(JsonElement body)
    {
        (string field, JsonElement value) = SingleField(body, "range");
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw ElasticsearchException.Parsing($"[range] query malformed, no start_object after field [{field}]");
        }

        string? format = value.TryGetProperty("format", out JsonElement f) ? RequireString(f, "range.format") : null;
        object? gt = null, gte = null, lt = null, lte = null;
        foreach (JsonProperty bound in value.EnumerateObject())
        {
            switch (bound.Name)
            {
                case "gt":
                    gt = Bound(field, bound.Value, format);
                    break;
                case "gte" or "from":
                    gte = Bound(field, bound.Value, format);
                    break;
                case "lt":
                    lt = Bound(field, bound.Value, format);
                    break;
                case "lte" or "to":
                    lte = Bound(field, bound.Value, format);
                    break;
                case "format" or "boost" or "time_zone" or "include_lower" or "include_upper" or "relation":
                    break;
                default:
                    throw ElasticsearchException.Parsing($"[range] query does not support [{bound.Name}]");
            }
        }

        return new RangeQuery(field, gt, gte, lt, lte);
    }

    private static object? Bound(string field, JsonElement value, string? format) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.Number when value.TryGetInt64(out long l) => l,
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.String => RangeBound(field, value.GetString()!, format)
            ?? throw ElasticsearchException.Parsing($"failed to parse date field [{value.GetString()}] with format [{format ?? "strict_date_optional_time||epoch_millis"}]"),
        _ => throw ElasticsearchException.Parsing($"[range] bound of [{field}] must be a number or a string"),
    };

    /// <summary>
    /// A range bound from text: for <c>@timestamp</c> a date (ES's <c>strict_date_optional_time||epoch_millis</c>, or
    /// date math <c>now</c>, <c>now-15m</c>, <c>now/d</c>) in Unix ms, null when it is not one; for other fields a number
    /// when the text is one, else the text.
    /// </summary>
    internal static object? RangeBound(string field, string text, string? format)
    {
        try
        {
            return RangeBoundUnchecked(field, text, format);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or OverflowException)
        {
            return null; // a date before year 1 or after 9999 (now+9999999y, a huge epoch): not a date
        }
    }

    private static object? RangeBoundUnchecked(string field, string text, string? format)
    {
        if (field is not "@timestamp")
        {
            return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long l) ? l
                : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d
                : text;
        }

        if (format is "epoch_second" && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long seconds))
        {
            return checked(seconds * 1000);
        }

        if (text.StartsWith("now", StringComparison.Ordinal))
        {
            return DateMath(DateTimeOffset.UtcNow, text.AsSpan(3));
        }

        int math = text.IndexOf("||", StringComparison.Ordinal);
        if (math > 0 && SourceFields.TryParseDate(text[..math], out long anchor))
        {
            return DateMath(DateTimeOffset.FromUnixTimeMilliseconds(anchor), text.AsSpan(math + 2));
        }

        return SourceFields.TryParseDate(text, out long ms) ? ms : null;
    }

    private static long? DateMath(DateTimeOffset value, ReadOnlySpan<char> math)
    {
        int i = 0;
        while (i < math.Length)
        {
            char op = math[i++];
            if (op is '+' or '-')
            {
                int start = i;
                while (i < math.Length && char.IsAsciiDigit(math[i]))
                {
                    i++;
                }

                if (i == start || i >= math.Length || !int.TryParse(math[start..i], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                {
                    return null;
                }

                n = op == '-' ? -n : n;
                char unit = math[i++];
                value = unit switch
                {
                    'y' => value.AddYears(n),
                    'M' => value.AddMonths(n),
                    'w' => value.AddDays(7 * n),
                    'd' => value.AddDays(n),
                    'h' or 'H' => value.AddHours(n),
                    'm' => value.AddMinutes(n),
                    's' => value.AddSeconds(n),
                    _ => DateTimeOffset.MinValue,
                };
                if (value == DateTimeOffset.MinValue)
                {
                    return null;
                }
            }
            else if (op == '/' && i < math.Length)
            {
                char unit = math[i++];
                DateTime u = value.UtcDateTime;
                value = unit switch
                {
                    'y' => new DateTimeOffset(u.Year, 1, 1, 0, 0, 0, TimeSpan.Zero),
                    'M' => new DateTimeOffset(u.Year, u.Month, 1, 0, 0, 0, TimeSpan.Zero),
                    'd' => new DateTimeOffset(u.Date, TimeSpan.Zero),
                    'h' or 'H' => new DateTimeOffset(u.Year, u.Month, u.Day, u.Hour, 0, 0, TimeSpan.Zero),
                    'm' => new DateTimeOffset(u.Year, u.Month, u.Day, u.Hour, u.Minute, 0, TimeSpan.Zero),
                    's' => new DateTimeOffset(u.Year, u.Month, u.Day, u.Hour, u.Minute, u.Second, TimeSpan.Zero),
                    _ => DateTimeOffset.MinValue,
                };
                if (value == DateTimeOffset.MinValue)
                {
                    return null;
                }
            }
            else
            {
                return null;
            }
        }

        return value.ToUnixTimeMilliseconds();
    }

    private static BoolQuery ParseBool(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw ElasticsearchException.Parsing("[bool] query malformed, no start_object after query name");
        }

        List<LogQuery> must = [], filter = [], should = [], mustNot = [];
        JsonElement? minimumSpec = null;
        foreach (JsonProperty property in body.EnumerateObject())
        {
            switch (property.Name)
            {
                case "must":
                    must.AddRange(Clauses(property.Value));
                    break;
                case "filter":
                    filter.AddRange(Clauses(property.Value));
                    break;
                case "should":
                    should.AddRange(Clauses(property.Value));
                    break;
                case "must_not":
                    mustNot.AddRange(Clauses(property.Value));
                    break;
                case "minimum_should_match":
                    minimumSpec = property.Value;
                    break;
                case "boost" or "_name" or "adjust_pure_negative":
                    break;
                default:
                    throw ElasticsearchException.Parsing($"[bool] query does not support [{property.Name}]");
            }
        }

        int? minimum = minimumSpec is { } spec ? MinimumShouldMatch(spec, should.Count) : null;
        return new BoolQuery(must, filter, should, mustNot, minimum);
    }

    // minimum_should_match: an integer, a negative integer (all but n), or a percentage (rounded down), as in ES.
    private static int MinimumShouldMatch(JsonElement spec, int clauses)
    {
        string text = spec.ValueKind switch
        {
            JsonValueKind.Number or JsonValueKind.String => spec.ValueKind == JsonValueKind.String ? spec.GetString()! : spec.GetRawText(),
            _ => throw ElasticsearchException.Parsing("[bool] minimum_should_match must be a number or a string"),
        };
        bool percent = text.EndsWith('%');
        if (!int.TryParse(percent ? text[..^1] : text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n))
        {
            throw ElasticsearchException.Parsing($"[bool] cannot parse minimum_should_match [{text}]");
        }

        // In long: Math.Abs(int.MinValue) and clauses × a large percentage overflow an int.
        long magnitude = Math.Abs((long)n);
        long value = percent ? clauses * magnitude / 100 : magnitude;
        value = n < 0 ? clauses - value : value;
        return (int)Math.Clamp(value, 0, clauses);
    }

    private static IEnumerable<LogQuery> Clauses(JsonElement value) => value.ValueKind == JsonValueKind.Array
        ? [.. value.EnumerateArray().Select(ParseQuery)]
        : [ParseQuery(value)];

    private static LogQuery ParseQueryString(JsonElement body)
    {
        string text = RequireString(Member(body, "query", "query_string"), "query_string.query");
        string? defaultField = null;
        bool and = false;
        foreach (JsonProperty property in body.EnumerateObject())
        {
            switch (property.Name)
            {
                case "default_field":
                    defaultField = RequireString(property.Value, "query_string.default_field");
                    defaultField = defaultField == "*" ? null : defaultField;
                    break;
                case "default_operator":
                    and = RequireString(property.Value, "query_string.default_operator").Equals("and", StringComparison.OrdinalIgnoreCase);
                    break;
                case "query" or "analyze_wildcard" or "boost" or "lenient" or "time_zone" or "_name":
                    break;
                default:
                    throw ElasticsearchException.Parsing($"[query_string] query does not support [{property.Name}]");
            }
        }

        return QueryStringParser.Parse(text, defaultField, and);
    }

    internal static List<LogSort> ParseSort(JsonElement value)
    {
        var sorts = new List<LogSort>();
        IEnumerable<JsonElement> items = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray() : [value];
        foreach (JsonElement item in items)
        {
            if (item.ValueKind == JsonValueKind.String)
            {
                string field = item.GetString()!;
                sorts.Add(new LogSort(field, field == "_score"));
                continue;
            }

            if (item.ValueKind != JsonValueKind.Object)
            {
                throw ElasticsearchException.Parsing("[sort] entries must be field names or objects");
            }

            foreach (JsonProperty property in item.EnumerateObject())
            {
                JsonElement order = property.Value;
                if (order.ValueKind == JsonValueKind.Object)
                {
                    if (!order.TryGetProperty("order", out order))
                    {
                        sorts.Add(new LogSort(property.Name, property.Name == "_score"));
                        continue;
                    }
                }

                sorts.Add(new LogSort(property.Name, ParseOrder(RequireString(order, "sort order"))));
            }
        }

        return sorts;
    }

    private static List<object?> ParseSearchAfter(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw ElasticsearchException.Parsing("[search_after] must be an array of the sort values of a hit");
        }

        var values = new List<object?>();
        foreach (JsonElement item in value.EnumerateArray())
        {
            values.Add(item.ValueKind switch
            {
                JsonValueKind.Number when item.TryGetInt64(out long l) => l,
                JsonValueKind.Number => item.GetDouble(),
                JsonValueKind.String => item.GetString(),
                JsonValueKind.True => 1L,
                JsonValueKind.False => 0L,
                JsonValueKind.Null => null,
                _ => throw ElasticsearchException.Parsing("[search_after] values must be numbers, strings, booleans or null"),
            });
        }

        return values;
    }

    private static PitReference ParsePit(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw ElasticsearchException.Parsing("[pit] must be an object with an [id]");
        }

        string? id = null;
        string? keepAlive = null;
        foreach (JsonProperty property in value.EnumerateObject())
        {
            switch (property.Name)
            {
                case "id":
                    id = RequireString(property.Value, "pit.id");
                    break;
                case "keep_alive":
                    keepAlive = property.Value.ValueKind == JsonValueKind.Number ? property.Value.GetRawText() : RequireString(property.Value, "pit.keep_alive");
                    break;
                default:
                    throw ElasticsearchException.Parsing($"[pit] unknown field [{property.Name}]");
            }
        }

        return new PitReference(id ?? throw ElasticsearchException.Parsing("[pit] requires an [id]"), keepAlive);
    }

    private static bool ParseOrder(string order) => order.ToUpperInvariant() switch
    {
        "DESC" => true,
        "ASC" => false,
        _ => throw ElasticsearchException.Parsing($"[sort] unknown order [{order}], expected [asc] or [desc]"),
    };

    private static List<LogSort> ParseSortParameter(string text)
    {
        var sorts = new List<LogSort>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = part.LastIndexOf(':');
            sorts.Add(colon > 0 && part[(colon + 1)..] is "asc" or "desc"
                ? new LogSort(part[..colon], part[(colon + 1)..] == "desc")
                : new LogSort(part, part == "_score"));
        }

        return sorts;
    }

    internal static SourceFilter ParseSource(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.True:
                return SourceFilter.All;
            case JsonValueKind.False:
                return SourceFilter.None;
            case JsonValueKind.String:
                return new SourceFilter(true, [value.GetString()!], []);
            case JsonValueKind.Array:
                return new SourceFilter(true, StringList(value, "_source"), []);
            case JsonValueKind.Object:
                IReadOnlyList<string> includes = [], excludes = [];
                foreach (JsonProperty property in value.EnumerateObject())
                {
                    switch (property.Name)
                    {
                        case "includes" or "include":
                            includes = StringList(property.Value, "_source.includes");
                            break;
                        case "excludes" or "exclude":
                            excludes = StringList(property.Value, "_source.excludes");
                            break;
                        default:
                            throw ElasticsearchException.Parsing($"[_source] unknown key [{property.Name}]");
                    }
                }

                return new SourceFilter(true, includes, excludes);
            default:
                throw ElasticsearchException.Parsing("[_source] must be a boolean, a string, an array or an object");
        }
    }

    private static string[] StringList(JsonElement value, string what) => value.ValueKind switch
    {
        JsonValueKind.String => [value.GetString()!],
        JsonValueKind.Array => [.. value.EnumerateArray().Select(v => RequireString(v, what))],
        _ => throw ElasticsearchException.Parsing($"[{what}] must be a string or an array of strings"),
    };

    private static JsonElement Member(JsonElement value, string name, string queryName) =>
        value.ValueKind == JsonValueKind.Object && value.TryGetProperty(name, out JsonElement member)
            ? member
            : throw ElasticsearchException.Parsing($"[{queryName}] requires [{name}]");

    private static string RequireString(JsonElement value, string what) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw ElasticsearchException.Parsing($"[{what}] must be a string");

    private static object Scalar(JsonElement value, string what) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number when value.TryGetInt64(out long l) => l,
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw ElasticsearchException.Parsing($"[{what}] value must be a string, number or boolean"),
    };

    private static string ScalarText(JsonElement value, string what) =>
        Convert.ToString(Scalar(value, what), CultureInfo.InvariantCulture)!;

    private static int ReadInt(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) ? n
        : value.ValueKind == JsonValueKind.String ? ParseIntParameter(value.GetString()!, name)
        : throw ElasticsearchException.Parsing($"[{name}] must be an integer");

    private static int ParseIntParameter(string text, string name) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw ElasticsearchException.IllegalArgument($"Failed to parse int parameter [{name}] with value [{text}]");

    private static bool IsBlank(ReadOnlySpan<byte> body)
    {
        foreach (byte b in body)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }

        return true;
    }
}
