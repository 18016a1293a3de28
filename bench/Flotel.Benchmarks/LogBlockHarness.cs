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
/// index. With <c>--dictionary BYTES</c> each index's messages frames are compressed with a zstd dictionary of that
/// capacity trained as the store trains it (its first <see cref="LogStore.TrainMessageBytes"/> of messages, one sample
/// each); <c>--rest 1</c> adds what the rest frames would take with a dictionary trained the same way on the rests instead
/// of the messages as their dictionary. The database is opened read-only.
/// <code>
/// dotnet run -c Release --project bench/Flotel.Benchmarks -- log-blocks --db DIR/mix.db [--levels 1,3,6] [--joins 1,2,4]
///   [--dictionary 112640] [--rest 1]
/// </code>
/// </summary>
internal static class LogBlockHarness
{
    public static int Run(string[] args)
    {
        string? db = null;
        int[] levels = [1, 3, 6, 9];
        int[] joins = [1, 2, 4];
        int dictionaryBytes = 0;
        bool rest = false;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--db": db = args[i + 1]; break;
                case "--levels": levels = [.. args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
                case "--joins": joins = [.. args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
                case "--dictionary": dictionaryBytes = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--rest": rest = args[i + 1] == "1"; break;
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
        // One dictionary per index, trained on its first messages as the store does (LogStore.Dictionaries.cs).
        var dictionaries = new List<byte[]?>();
        foreach (List<LogBlock> blocks in indices)
        {
            if (dictionaryBytes == 0)
            {
                dictionaries.Add(null);
                continue;
            }

            List<byte[]> samples = Samples(blocks,
                b => b.HasMessages ? [.. Enumerable.Range(0, b.Count).Select(i => b.Message(b.FirstRowId + i).ToArray())] : []);
            long trainStart = Stopwatch.GetTimestamp();
            TimeSpan trainCpu = Process.GetCurrentProcess().TotalProcessorTime;
            dictionaries.Add(DictBuilder.TrainFromBuffer(samples, dictionaryBytes));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"dictionary of {dictionaries[^1]!.Length} bytes from {samples.Count} messages ({samples.Sum(m => (long)m.Length) / 1e6:0.00} MB): "
                + $"{Stopwatch.GetElapsedTime(trainStart).TotalMilliseconds:0} ms wall, "
                + $"{(Process.GetCurrentProcess().TotalProcessorTime - trainCpu).TotalMilliseconds:0} ms CPU"));
        }

        if (rest)
        {
            CompareRests(indices, levels, dictionaryBytes == 0 ? 112_640 : dictionaryBytes);
        }

        Console.WriteLine("| level | blocks joined | blocks | compressed MB | encode CPU ms | messages decode CPU ms | whole decode CPU ms |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int join in joins)
        {
            List<(byte[] Sources, int[] Ends, (int, int)[] Messages, int Index)> groups = Join(indices, join);
            foreach (int level in levels)
            {
                using var encoder = new LogBlock.Encoder(new Compressor(level));
                var encoded = new List<byte[]>(groups.Count);
                TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                foreach ((byte[] sources, int[] ends, (int, int)[] messages, int index) in groups)
                {
                    encoded.Add(encoder.Encode(sources, ends, messages, dictionaries[index]).ToArray());
                }

                double encodeMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
                using var decompressor = new Decompressor();
                // A decompressor per index holding its dictionary, as the store's pools keep them.
                Decompressor?[] loaded = [.. dictionaries.Select(d =>
                {
                    if (d is null)
                    {
                        return null;
                    }

                    var withDictionary = new Decompressor();
                    withDictionary.LoadDictionary(d);
                    return withDictionary;
                })];
                cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                for (int g = 0; g < groups.Count; g++)
                {
                    _ = LogBlock.DecodeMessages(decompressor, 1, groups[g].Ends.Length, encoded[g], _ => loaded[groups[g].Index]);
                }

                double messagesMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
                cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                for (int g = 0; g < groups.Count; g++)
                {
                    _ = LogBlock.Decode(decompressor, 1, groups[g].Ends.Length, encoded[g], _ => loaded[groups[g].Index]);
                }

                foreach (Decompressor? d in loaded)
                {
                    d?.Dispose();
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
            // A store that trained dictionaries: its blocks name them (dicts_N; none in older stores).
            var dictionaries = new Dictionary<uint, Decompressor>();
            using (SqliteCommand dicts = connection.CreateCommand())
            {
                dicts.CommandText = $"SELECT count(*) FROM sqlite_master WHERE name = 'dicts_{id}'";
                if ((long)dicts.ExecuteScalar()! > 0)
                {
                    dicts.CommandText = $"SELECT id, data FROM dicts_{id}";
                    using SqliteDataReader rows = dicts.ExecuteReader();
                    while (rows.Read())
                    {
                        var loaded = new Decompressor();
                        loaded.LoadDictionary((byte[])rows.GetValue(1));
                        dictionaries[(uint)rows.GetInt64(0)] = loaded;
                    }
                }
            }

            var blocks = new List<LogBlock>();
            using SqliteCommand read = connection.CreateCommand();
            read.CommandText = $"SELECT first_rowid, last_rowid, data FROM blocks_{id} ORDER BY last_rowid";
            using SqliteDataReader reader = read.ExecuteReader();
            while (reader.Read())
            {
                byte[] data = (byte[])reader.GetValue(2);
                storedBytes += data.Length;
                long first = reader.GetInt64(0);
                blocks.Add(LogBlock.Decode(decompressor, first, reader.GetInt64(1) - first + 1, data, d => dictionaries.GetValueOrDefault(d)));
            }

            result.Add(blocks);
            foreach (Decompressor loaded in dictionaries.Values)
            {
                loaded.Dispose();
            }
        }

        return result;
    }

    // The first LogStore.TrainMessageBytes of an index's entries (what pick gives of each block), one sample each.
    private static List<byte[]> Samples(List<LogBlock> blocks, Func<LogBlock, List<byte[]>> pick)
    {
        var samples = new List<byte[]>();
        long total = 0;
        foreach (LogBlock block in blocks)
        {
            foreach (byte[] entry in pick(block))
            {
                if (total >= LogStore.TrainMessageBytes)
                {
                    return samples;
                }

                if (entry.Length > 0)
                {
                    samples.Add(entry);
                    total += entry.Length;
                }
            }
        }

        return samples;
    }

    // Each source with its message cut out (what frame R holds, without its lengths and offsets).
    private static List<byte[]> Rests(LogBlock block)
    {
        var rests = new List<byte[]>(block.Count);
        for (long r = block.FirstRowId; r < block.FirstRowId + block.Count; r++)
        {
            byte[] source = block.Source(r).ToArray();
            (int at, int length) = block.MessageRange(r);
            rests.Add(at < 0 ? source : [.. source.AsSpan(0, at), .. source.AsSpan(at + length)]);
        }

        return rests;
    }

    // Frame R's rests per stored block: with the block's messages as a raw-content dictionary (as LogBlock writes them)
    // against a dictionary trained on the index's first rests.
    private static void CompareRests(List<List<LogBlock>> indices, int[] levels, int dictionaryBytes)
    {
        Console.WriteLine("| level | rests MB, messages as dictionary | rests MB, trained dictionary | rests MB, none |");
        Console.WriteLine("|---:|---:|---:|---:|");
        foreach (int level in levels)
        {
            long withMessages = 0, withTrained = 0, none = 0;
            foreach (List<LogBlock> blocks in indices)
            {
                byte[] trained = DictBuilder.TrainFromBuffer(Samples(blocks, Rests), dictionaryBytes);
                using var compressor = new Compressor(level);
                foreach (LogBlock block in blocks)
                {
                    byte[] rests = [.. Rests(block).SelectMany(r => r)];
                    byte[] messages = [.. Enumerable.Range(0, block.Count).SelectMany(i => block.Message(block.FirstRowId + i).ToArray())];
                    none += compressor.Wrap(rests).Length;
                    compressor.LoadDictionary(messages);
                    withMessages += compressor.Wrap(rests).Length;
                    compressor.LoadDictionary(trained);
                    withTrained += compressor.Wrap(rests).Length;
                    compressor.LoadDictionary([]);
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {level} | {withMessages / 1e6:0.00} | {withTrained / 1e6:0.00} | {none / 1e6:0.00} |"));
        }
    }

    // Joins k consecutive blocks of each index into one set of sources, ends and message ranges.
    private static List<(byte[] Sources, int[] Ends, (int, int)[] Messages, int Index)> Join(List<List<LogBlock>> indices, int k)
    {
        var groups = new List<(byte[], int[], (int, int)[], int)>();
        for (int index = 0; index < indices.Count; index++)
        {
            List<LogBlock> blocks = indices[index];
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

                groups.Add((sources.ToArray(), [.. ends], [.. messages], index));
            }
        }

        return groups;
    }
}
