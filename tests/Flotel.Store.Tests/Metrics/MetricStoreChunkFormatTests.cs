using Flotel.Model.Metrics;
using Flotel.Store.Metrics;
using Microsoft.Data.Sqlite;

namespace Flotel.Store.Tests.Metrics;

/// <summary>
/// The chunk encodings as the store writes and reads them: closed chunks take the compact encoding when their values
/// are decimals, keep every special value otherwise, and rows written in the earlier encodings (XOR and decimal) stay
/// readable after an upgrade.
/// </summary>
public sealed class MetricStoreChunkFormatTests : IDisposable
{
    private const long T0 = 1_700_000_000_000;
    private readonly StoreFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static LabelMatcher Eq(string name, string value) => new(LabelMatchType.Equal, name, value);

    private static Sample[] Regular(int count, Func<int, double> value, long start = T0)
    {
        var samples = new Sample[count];
        for (var i = 0; i < count; i++)
        {
            samples[i] = new Sample(start + (i * 15_000L), value(i));
        }

        return samples;
    }

    private static void AssertBitExact(Sample[] expected, Sample[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].TimestampMs, actual[i].TimestampMs);
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected[i].Value), BitConverter.DoubleToInt64Bits(actual[i].Value));
        }
    }

    private List<byte> Encodings()
    {
        using var db = new SqliteConnection("Data Source=" + Path.Combine(_fixture.DataDirectory, "metrics.db") + ";Pooling=false");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT data FROM chunks ORDER BY series_id, min_t";
        using var reader = cmd.ExecuteReader();
        var result = new List<byte>();
        while (reader.Read())
        {
            result.Add(((byte[])reader.GetValue(0))[2]);
        }

        return result;
    }

    [Fact]
    public void ClosedChunks_OfDecimalsAndOfSpecialValues_ReadBackBitExact()
    {
        var counter = Regular(1000, i => i < 600 ? Math.Round(i * 0.37, 2) : Math.Round((i - 600) * 0.37, 2)); // a reset at 600
        var special = Regular(1000, i => (i % 97) switch
        {
            0 => Sample.StaleMarker,
            1 => double.NaN,
            2 => double.PositiveInfinity,
            3 => double.NegativeInfinity,
            _ => i,
        });
        using (var store = _fixture.Open())
        {
            store.Append(LabelSet.Of("__name__", "c"), counter);
            store.Append(LabelSet.Of("__name__", "s"), special);
            AssertBitExact(counter, Assert.Single(store.Select([Eq("__name__", "c")], long.MinValue, long.MaxValue)).Samples);
            AssertBitExact(special, Assert.Single(store.Select([Eq("__name__", "s")], long.MinValue, long.MaxValue)).Samples);
        }

        // Counter chunks closed in the compact encoding; chunks with NaN, stale markers or infinities in XOR.
        var encodings = Encodings();
        Assert.Contains(CompactChunkEncoder.Encoding, encodings);
        Assert.Contains(XorChunkAppender.XorEncoding, encodings);
        using (var store = _fixture.Open())
        {
            AssertBitExact(counter, Assert.Single(store.Select([Eq("__name__", "c")], long.MinValue, long.MaxValue)).Samples);
            var back = Assert.Single(store.Select([Eq("__name__", "s")], long.MinValue, long.MaxValue)).Samples;
            AssertBitExact(special, back);
            Assert.True(back[0].IsStaleMarker);
            var r = store.Append(LabelSet.Of("__name__", "c"), [counter[^2], counter[^1], new Sample(counter[^1].TimestampMs + 15_000, 1)]);
            Assert.Equal(new AppendResult(1, 1, 1, 0), r);
        }
    }

    /// <summary>
    /// A metrics.db as the previous release wrote it: the same tables, chunks in the XOR (0) and decimal (1) encodings,
    /// including a flushed head. The new code opens it, answers queries from those rows, and appends after them.
    /// </summary>
    [Fact]
    public void DatabaseWithEarlierEncodings_OpensAndIsQueryable()
    {
        using (_fixture.Open())
        {
        }

        var gauge = Regular(500, i => Math.Sin(i / 10.0));
        var seconds = Regular(500, i => Math.Round(i * 1.25, 2));
        using (var db = new SqliteConnection("Data Source=" + Path.Combine(_fixture.DataDirectory, "metrics.db") + ";Pooling=false"))
        {
            db.Open();
            using var tx = db.BeginTransaction();
            Insert(db, "INSERT INTO series (id, labels, name) VALUES (1, $v, 'g')", Key("__name__", "g", "job", "old"));
            Insert(db, "INSERT INTO series (id, labels, name) VALUES (2, $v, 's')", Key("__name__", "s", "job", "old"));
            foreach (var part in gauge.Chunk(240))
            {
                var xor = new XorChunkAppender();
                foreach (var s in part)
                {
                    Assert.True(xor.TryAppend(s.TimestampMs, s.Value));
                }

                InsertChunk(db, 1, part, xor.Bytes.ToArray());
            }

            foreach (var part in seconds.Chunk(240))
            {
                var data = DecimalChunkEncoder.TryEncode(part)!;
                Assert.Equal(DecimalChunkEncoder.Encoding, data[2]);
                InsertChunk(db, 2, part, data);
            }

            tx.Commit();
        }

        using var store = _fixture.Open();
        Assert.Equal(2, store.SeriesCount);
        AssertBitExact(gauge, Assert.Single(store.Select([Eq("__name__", "g")], long.MinValue, long.MaxValue)).Samples);
        AssertBitExact(seconds, Assert.Single(store.Select([Eq("__name__", "s")], long.MinValue, long.MaxValue)).Samples);
        var middle = Assert.Single(store.Select([Eq("__name__", "s")], seconds[100].TimestampMs, seconds[300].TimestampMs)).Samples;
        AssertBitExact(seconds[100..301], middle);

        var more = Regular(300, i => Math.Round((500 + i) * 1.25, 2), seconds[^1].TimestampMs + 15_000);
        Assert.Equal(new AppendResult(300, 0, 0, 0), store.Append(LabelSet.Of("__name__", "s", "job", "old"), more));
        AssertBitExact([.. seconds, .. more], Assert.Single(store.Select([Eq("__name__", "s")], long.MinValue, long.MaxValue)).Samples);
    }

    private static byte[] Key(params string[] pairs)
    {
        var key = new List<byte>();
        foreach (var s in pairs)
        {
            key.AddRange(System.Text.Encoding.UTF8.GetBytes(s));
            key.Add(0xFF);
        }

        return [.. key];
    }

    private static void Insert(SqliteConnection db, string sql, byte[] value)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$v", value);
        cmd.ExecuteNonQuery();
    }

    private static void InsertChunk(SqliteConnection db, long series, Sample[] part, byte[] data)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "INSERT INTO chunks (series_id, min_t, max_t, data) VALUES ($s, $min, $max, $d)";
        cmd.Parameters.AddWithValue("$s", series);
        cmd.Parameters.AddWithValue("$min", part[0].TimestampMs);
        cmd.Parameters.AddWithValue("$max", part[^1].TimestampMs);
        cmd.Parameters.AddWithValue("$d", data);
        cmd.ExecuteNonQuery();
    }
}
