using Flotel.Model.Logs;
using Flotel.Store.Logs;
using Flotel.Wire.Syslog;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Store.Tests.Logs;

/// <summary>A log store in a fresh temporary directory, deleted on dispose.</summary>
internal sealed class TestLogStore : IDisposable
{
    // The blog's Flotta device-worker line (conformance case "flotta-blog-empty-hostname", from
    // tests/Flotel.Wire.Tests/Data/Syslog/parse-cases.jsonl; the line itself is quoted in the blog's _search response).
    public const string BlogLine = "<6>2022-05-12T16:22:01-04:00  random-workload[3966]: dcc80a53ab7e5871f38e6b5184d785d58f5c698505fe74dd04597dcaac372c1b: New message at: Thu May 12 20:22:01 UTC 2022\n";

    public static readonly DateTime BlogReceivedAt = new(2022, 5, 12, 20, 22, 1, 494, DateTimeKind.Utc);

    public TestLogStore(Action<LogStoreOptions>? configure = null, FakeTimeProvider? clock = null)
    {
        Directory = Path.Combine(Path.GetTempPath(), "flotel-logstore-" + Guid.NewGuid().ToString("N"));
        Options = new LogStoreOptions { DataDirectory = Directory, MaxAge = null, MaxBytes = null };
        configure?.Invoke(Options);
        Clock = clock ?? new FakeTimeProvider(new DateTimeOffset(2022, 5, 12, 21, 0, 0, TimeSpan.Zero));
        Store = LogStore.Open(Options, Clock);
    }

    /// <summary>
    /// A store whose database already holds the empty index <paramref name="name"/> (id 1) in the layout of the release
    /// before the compact one: text columns, no values table, a full-text table with positions (LogStore.cs of that
    /// release). Indices the store creates afterwards get the current layout.
    /// </summary>
    public static TestLogStore WithPreviousLayoutIndex(string name) => OverDatabase(command =>
    {
        command.CommandText = """
            PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL;
            CREATE TABLE indices(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL, created_ms INTEGER NOT NULL,
              newest_ms INTEGER NOT NULL, doc_count INTEGER NOT NULL, source_bytes INTEGER NOT NULL);
            INSERT INTO indices VALUES (1, $name, 'uuid0000000000000000aa', 1652382000000, 1652382000000, 0, 0);
            CREATE TABLE docs_1(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, ts INTEGER, severity INTEGER, facility INTEGER,
              program TEXT, logsource TEXT, host TEXT, device_id TEXT, workload TEXT, source TEXT NOT NULL);
            CREATE INDEX docs_1_ts ON docs_1(ts);
            CREATE TABLE blocks_1(last_rowid INTEGER PRIMARY KEY, first_rowid INTEGER NOT NULL, source_bytes INTEGER NOT NULL, data BLOB NOT NULL);
            CREATE VIRTUAL TABLE fts_1 USING fts5(message, content='', contentless_delete=1);
            """;
        _ = command.Parameters.AddWithValue("$name", name);
    });

    /// <summary>
    /// A store whose database already holds the empty indices <paramref name="names"/> (ids 1, 2, … in that order) in the
    /// layout of the release before block time bounds: a ts index over the rows, blocks without min_ts/max_ts (LogStore.cs
    /// of that release). Indices the store creates afterwards get the current layout.
    /// </summary>
    public static TestLogStore WithRowTimeIndexLayout(params string[] names) => OverDatabase(command =>
    {
        var sql = new System.Text.StringBuilder("""
            PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL;
            CREATE TABLE indices(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL, created_ms INTEGER NOT NULL,
              newest_ms INTEGER NOT NULL, doc_count INTEGER NOT NULL, source_bytes INTEGER NOT NULL);

            """);
        for (int i = 1; i <= names.Length; i++)
        {
            string n = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            sql.Append(System.Globalization.CultureInfo.InvariantCulture, $"""
                INSERT INTO indices VALUES ({n}, $name{n}, 'uuid{i:D18}', 1652382000000, 1652382000000, 0, 0);
                CREATE TABLE docs_{n}(rowid INTEGER PRIMARY KEY, id TEXT, ts INTEGER, severity INTEGER, facility INTEGER,
                  program, logsource, host, device_id, workload, source TEXT NOT NULL);
                CREATE INDEX docs_{n}_ts ON docs_{n}(ts);
                CREATE TABLE values_{n}(id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);
                CREATE TABLE blocks_{n}(last_rowid INTEGER PRIMARY KEY, first_rowid INTEGER NOT NULL, source_bytes INTEGER NOT NULL,
                  data BLOB NOT NULL, level INTEGER);
                CREATE VIRTUAL TABLE fts_{n} USING fts5(message, content='', contentless_delete=1, detail=none);

                """);
            _ = command.Parameters.AddWithValue("$name" + n, names[i - 1]);
        }

        command.CommandText = sql.ToString();
    });

    /// <summary>
    /// A store opened over a database that <paramref name="prepare"/> made: it sets the command's SQL and parameters
    /// (the schema of an older release), which runs before the store opens.
    /// </summary>
    private static TestLogStore OverDatabase(Action<Microsoft.Data.Sqlite.SqliteCommand> prepare)
    {
        var t = new TestLogStore();
        t.Store.Dispose();
        File.Delete(t.Options.DatabasePath);
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection(
            new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = t.Options.DatabasePath, Pooling = false }.ToString()))
        {
            connection.Open();
            using Microsoft.Data.Sqlite.SqliteCommand command = connection.CreateCommand();
            prepare(command);
            _ = command.ExecuteNonQuery();
        }

        t.Store = LogStore.Open(t.Options, t.Clock);
        return t;
    }

    public string Directory { get; }

    public LogStoreOptions Options { get; }

    public FakeTimeProvider Clock { get; }

    public LogStore Store { get; private set; }

    public static LogEvent BlogEvent() =>
        SyslogParser.Default.ParseEvent(System.Text.Encoding.UTF8.GetBytes(BlogLine), BlogReceivedAt, "127.0.0.1");

    public static LogEvent Event(DateTime timestamp, string message, int priority = 14, string? program = null, string? host = "10.0.0.1",
        string? logsource = null, string? deviceId = null, string? workload = null) => new()
    {
        Timestamp = timestamp,
        Message = message,
        Priority = priority,
        Program = program,
        Host = host,
        LogSource = logsource,
        DeviceId = deviceId,
        Workload = workload,
    };

    /// <summary>About <paramref name="length"/> characters of random 7-letter hex words: text that compresses to about half.</summary>
    public static string RandomWords(Random random, int length)
    {
        var text = new System.Text.StringBuilder(length + 8);
        while (text.Length < length)
        {
            text.Append(random.Next(0x1000000, 0xFFFFFFF).ToString("x7", System.Globalization.CultureInfo.InvariantCulture)).Append(' ');
        }

        return text.ToString();
    }

    public void Reopen()
    {
        Store.Dispose();
        Store = LogStore.Open(Options, Clock);
    }

    public void Dispose()
    {
        Store.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A pooled reader may still hold the file for a moment; the temp directory is cleaned by the OS.
        }
    }
}
