using Flotel.Wire.Syslog;

namespace Flotel.Store.Logs;

/// <summary>Options of the embedded log store. Defaults are documented per property; <see cref="Validate"/> runs at startup.</summary>
public sealed class LogStoreOptions
{
    /// <summary>File name of the SQLite database inside <see cref="DataDirectory"/>.</summary>
    public const string DatabaseFileName = "logs.db";

    /// <summary>Directory holding the database (created when missing). Default <c>data/logs</c>.</summary>
    public string DataDirectory { get; set; } = Path.Combine("data", "logs");

    /// <summary>Index name pattern applied to <c>@timestamp</c> in UTC (architecture §5). Default <c>logstash-%{+YYYY.MM.dd}</c>.</summary>
    public string IndexPattern { get; set; } = LogstashIndexPattern.Default;

    /// <summary>Indices whose newest event is older than this are dropped by retention; null keeps them. Default 14 days.</summary>
    public TimeSpan? MaxAge { get; set; } = TimeSpan.FromDays(14);

    /// <summary>
    /// Most bytes of database pages in use (the WAL, bounded on its own, comes on top); beyond it the oldest events are
    /// deleted: whole oldest indices first, then the oldest events of the oldest index. Null (the default) = no limit.
    /// </summary>
    public long? MaxBytes { get; set; }

    /// <summary>Largest <c>from + size</c> a search may ask for; Elasticsearch's <c>index.max_result_window</c> default is 10000.</summary>
    public int MaxResultWindow { get; set; } = 10_000;

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath => Path.Combine(DataDirectory, DatabaseFileName);

    /// <summary>Pure checks of the options; returns one message per problem, quoting the key.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            errors.Add("`DataDirectory` must not be empty (log store)");
        }

        if (!LogstashIndexPattern.TryParse(IndexPattern ?? string.Empty, out _, out string? patternError))
        {
            errors.Add($"`IndexPattern` is invalid: {patternError} (log store)");
        }

        if (MaxAge is { } age && age <= TimeSpan.Zero)
        {
            errors.Add("`MaxAge` must be greater than 0 (log store)");
        }

        if (MaxBytes is { } size && size <= 0)
        {
            errors.Add("`MaxBytes` must be greater than 0 (log store)");
        }

        if (MaxResultWindow <= 0)
        {
            errors.Add("`MaxResultWindow` must be greater than 0 (log store)");
        }

        return errors;
    }
}
