using Flotel.Store.Logs;

namespace Flotel.Store.Tests.Logs;

/// <summary>
/// <c>_source</c> blocks in the layout written before the messages section (<see cref="LogBlock"/>), for tests of
/// data directories of earlier versions (kept out of <see cref="TestLogStore"/>, which the gateway's tests share and
/// which cannot see the store's internal types there).
/// </summary>
internal static class PreviousLayoutBlocks
{
    /// <summary>
    /// Rewrites every block of <c>blocks_{indexId}</c> in the layout written before the messages section (one zstd frame
    /// of count, ends and whole sources; LogBlock.cs of that release), with the store closed, and reopens the store.
    /// </summary>
    public static void RewriteBlocksInPreviousLayout(this TestLogStore t, long indexId)
    {
        t.Store.Dispose();
        string blocks = "blocks_" + indexId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection(
            new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = t.Options.DatabasePath, Pooling = false }.ToString()))
        {
            connection.Open();
            var rows = new List<(long First, long Last, byte[] Data)>();
            using (Microsoft.Data.Sqlite.SqliteCommand read = connection.CreateCommand())
            {
                read.CommandText = $"SELECT first_rowid, last_rowid, data FROM {blocks}";
                using Microsoft.Data.Sqlite.SqliteDataReader reader = read.ExecuteReader();
                while (reader.Read())
                {
                    rows.Add((reader.GetInt64(0), reader.GetInt64(1), (byte[])reader.GetValue(2)));
                }
            }

            using var compressor = new ZstdSharp.Compressor(1);
            using var decompressor = new ZstdSharp.Decompressor();
            foreach ((long first, long last, byte[] data) in rows)
            {
                LogBlock block = LogBlock.Decode(decompressor, first, last - first + 1, data);
                var sources = new List<byte[]>();
                for (long rowId = first; rowId <= last; rowId++)
                {
                    sources.Add(block.Source(rowId).ToArray());
                }

                using Microsoft.Data.Sqlite.SqliteCommand update = connection.CreateCommand();
                update.CommandText = $"UPDATE {blocks} SET data = $d WHERE last_rowid = $l";
                _ = update.Parameters.AddWithValue("$d", PreviousLayoutBlock(compressor, sources));
                _ = update.Parameters.AddWithValue("$l", last);
                _ = update.ExecuteNonQuery();
            }
        }

        t.Reopen();
    }

    /// <summary>A block in the layout written before the messages section: one zstd frame of n, ends, sources.</summary>
    public static byte[] PreviousLayoutBlock(ZstdSharp.Compressor compressor, IReadOnlyList<byte[]> sources, int[]? ends = null)
    {
        var plain = new List<byte>();
        plain.AddRange(BitConverter.GetBytes(sources.Count));
        int end = 0;
        for (int i = 0; i < sources.Count; i++)
        {
            end += sources[i].Length;
            plain.AddRange(BitConverter.GetBytes(ends?[i] ?? end));
        }

        foreach (byte[] source in sources)
        {
            plain.AddRange(source);
        }

        return compressor.Wrap([.. plain]).ToArray();
    }

}
