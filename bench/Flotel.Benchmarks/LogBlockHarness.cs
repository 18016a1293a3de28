using System.Diagnostics;
using System.Globalization;
using Flotel.Store.Logs;
using Microsoft.Data.Sqlite;
using ZstdSharp;

namespace Flotel.Benchmarks;

/// <summary>
/// Re-encodes the <c>_source</c> blocks of a <c>logs.db</c> (kept by <c>bench/peers/log-storage.sh --keep DIR</c>) with
/// other zstd levels and block sizes, as <see cref="LogBlock"/> writes them: the bytes, the CPU time to encode every
/// block, and the CPU time to decompress every block's messages (what a phrase check reads) and whole blocks (what a
/// condition on a field only <c>_source</c> holds reads). A block size of k joins k consecutive stored blocks of one
/// index. The database is opened read-only.
/// <code>
/// dotnet run -c Release --project bench/Flotel.Benchmarks -- log-blocks --db DIR/mix.db [--levels 1,3,6] [--joins 1,2,4]
/// </code>
/// </summary>
internal static class LogBlockHarness
{
    public static int Run(string[] args)
    {
        string? db = null;
        int[] levels = [1, 3, 6, 9];
        int[] joins = [1, 2, 4];
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--db": db = args[i + 1]; break;
                case "--levels": levels = [.. args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
                case "--joins": joins = [.. args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
                default: Console.Error.WriteLine("usage: log-blocks --db PATH [--levels 1,3,6] [--joins 1,2,4]"); return 2;
            }
        }

        if (db is null || !File.Exists(db))
        {
            Console.Error.WriteLine("usage: log-blocks --db PATH [--levels 1,3,6] [--joins 1,2,4]");
            return 2;
        }

        List<List<LogBlock>> indices = Read(db, out long storedBytes);
        int blockCount = indices.Sum(b => b.Count);
        long sourceBytes = indices.Sum(blocks => blocks.Sum(b => (long)SourcesLength(b)));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{db}: {blockCount} blocks, {sourceBytes / 1e6:0.00} MB of sources, {storedBytes / 1e6:0.00} MB stored"));
        Console.WriteLine("| level | blocks joined | blocks | compressed MB | encode CPU ms | messages decode CPU ms | whole decode CPU ms |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int join in joins)
        {
            List<(byte[] Sources, int[] Ends, (int, int)[] Messages)> groups = Join(indices, join);
            foreach (int level in levels)
            {
                using var encoder = new LogBlock.Encoder(new Compressor(level));
                var encoded = new List<byte[]>(groups.Count);
                TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                foreach ((byte[] sources, int[] ends, (int, int)[] messages) in groups)
                {
                    encoded.Add(encoder.Encode(sources, ends, messages).ToArray());
                }

                double encodeMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
                using var decompressor = new Decompressor();
                cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                for (int g = 0; g < groups.Count; g++)
                {
                    _ = LogBlock.DecodeMessages(decompressor, 1, groups[g].Ends.Length, encoded[g]);
                }

                double messagesMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
                cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                for (int g = 0; g < groups.Count; g++)
                {
                    _ = LogBlock.Decode(decompressor, 1, groups[g].Ends.Length, encoded[g]);
                }

                double wholeMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {level} | {join} | {groups.Count} | {encoded.Sum(e => (long)e.Length) / 1e6:0.00} | {encodeMs:0} | {messagesMs:0} | {wholeMs:0} |"));
            }
        }

        return 0;
    }

    private static int SourcesLength(LogBlock block)
    {
        int total = 0;
        for (long r = block.FirstRowId; r < block.FirstRowId + block.Count; r++)
        {
            total += block.Source(r).Length;
        }

        return total;
    }

    private static List<List<LogBlock>> Read(string db, out long storedBytes)
    {
        storedBytes = 0;
        var result = new List<List<LogBlock>>();
        using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        var ids = new List<long>();
        using (SqliteCommand list = connection.CreateCommand())
        {
            list.CommandText = "SELECT id FROM indices ORDER BY id";
            using SqliteDataReader reader = list.ExecuteReader();
            while (reader.Read())
            {
                ids.Add(reader.GetInt64(0));
            }
        }

        using var decompressor = new Decompressor();
        foreach (long id in ids)
        {
            var blocks = new List<LogBlock>();
            using SqliteCommand read = connection.CreateCommand();
            read.CommandText = $"SELECT first_rowid, last_rowid, data FROM blocks_{id} ORDER BY last_rowid";
            using SqliteDataReader reader = read.ExecuteReader();
            while (reader.Read())
            {
                byte[] data = (byte[])reader.GetValue(2);
                storedBytes += data.Length;
                long first = reader.GetInt64(0);
                blocks.Add(LogBlock.Decode(decompressor, first, reader.GetInt64(1) - first + 1, data));
            }

            result.Add(blocks);
        }

        return result;
    }

    // Joins k consecutive blocks of each index into one set of sources, ends and message ranges.
    private static List<(byte[] Sources, int[] Ends, (int, int)[] Messages)> Join(List<List<LogBlock>> indices, int k)
    {
        var groups = new List<(byte[], int[], (int, int)[])>();
        foreach (List<LogBlock> blocks in indices)
        {
            for (int start = 0; start < blocks.Count; start += k)
            {
                var sources = new MemoryStream();
                var ends = new List<int>();
                var messages = new List<(int, int)>();
                foreach (LogBlock block in blocks.Skip(start).Take(k))
                {
                    for (long r = block.FirstRowId; r < block.FirstRowId + block.Count; r++)
                    {
                        ReadOnlySpan<byte> source = block.Source(r);
                        sources.Write(source);
                        ends.Add((int)sources.Length);
                        messages.Add(block.MessageRange(r));
                    }
                }

                groups.Add((sources.ToArray(), [.. ends], [.. messages]));
            }
        }

        return groups;
    }
}
