using System.Globalization;
using System.Text;
using Flotel.TestKit;

namespace Flotel.Model.Tests.Repository;

/// <summary>
/// The line-length limit of .editorconfig (<c>max_line_length</c> for C#) holds for every C# file of src/, tests/ and
/// bench/, except the lines a recorded list lets a file keep (Data/long-lines.txt: lines that predate the limit). The list
/// only shrinks: a file over its allowance fails, and so does an allowance larger than the file needs, so that a line
/// shortened is never lengthened again. <c>FLOTEL_UPDATE_BASELINE=1</c> rewrites the list from the files.
/// </summary>
public sealed class LineLengthTests
{
    private static readonly string[] Roots = ["src", "tests", "bench"];

    [Fact]
    public void EditorConfig_DeclaresALimitForCSharp() => Assert.InRange(MaxLineLength(), 80, 200);

    [Fact]
    public void CSharpFiles_KeepToTheLimit_BeyondTheirRecordedAllowance()
    {
        var limit = MaxLineLength();
        var actual = LongLines(limit);
        var baselinePath = TestKit.Repository.Path("tests", "Flotel.Model.Tests", "Data", "long-lines.txt");
        if (Environment.GetEnvironmentVariable("FLOTEL_UPDATE_BASELINE") == "1")
        {
            File.WriteAllText(baselinePath, Format(actual, limit));
            return;
        }

        var allowed = Parse(File.ReadAllLines(baselinePath));
        var problems = new StringBuilder();
        foreach (var (file, lines) in actual)
        {
            var allowance = allowed.GetValueOrDefault(file);
            if (lines.Count > allowance)
            {
                problems.Append(CultureInfo.InvariantCulture, $"{file}: {lines.Count} lines over {limit} characters, allowed {allowance}:\n");
                foreach (var (number, length) in lines)
                {
                    problems.Append(CultureInfo.InvariantCulture, $"  line {number}: {length} characters\n");
                }
            }
        }

        foreach (var (file, allowance) in allowed)
        {
            var count = actual.TryGetValue(file, out var lines) ? lines.Count : 0;
            if (count < allowance)
            {
                problems.Append(CultureInfo.InvariantCulture,
                    $"{file}: allowed {allowance} long lines but has {count}; lower the allowance (FLOTEL_UPDATE_BASELINE=1)\n");
            }
        }

        Assert.True(problems.Length == 0, problems.ToString());
    }

    /// <summary>The limit as .editorconfig declares it for C# (<c>max_line_length</c> in its <c>[*.cs]</c> section).</summary>
    private static int MaxLineLength()
    {
        var editorConfig = File.ReadAllLines(TestKit.Repository.Path(".editorconfig"));
        var section = Array.IndexOf(editorConfig, "[*.cs]");
        Assert.True(section >= 0, ".editorconfig has no [*.cs] section");
        var declared = editorConfig.Skip(section + 1).TakeWhile(l => !l.StartsWith('['))
            .SingleOrDefault(l => l.StartsWith("max_line_length", StringComparison.Ordinal));
        Assert.True(declared is not null, ".editorconfig declares no max_line_length for [*.cs]");
        return int.Parse(declared.Split('=')[1].Trim(), CultureInfo.InvariantCulture);
    }

    private static SortedDictionary<string, List<(int Number, int Length)>> LongLines(int limit)
    {
        var result = new SortedDictionary<string, List<(int, int)>>(StringComparer.Ordinal);
        foreach (var root in Roots)
        {
            foreach (var path in Directory.EnumerateFiles(TestKit.Repository.Path(root), "*.cs", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(TestKit.Repository.Root, path).Replace('\\', '/');
                if (relative.Split('/').Any(part => part is "bin" or "obj" or "node_modules"))
                {
                    continue;
                }

                var number = 0;
                foreach (var line in File.ReadLines(path))
                {
                    number++;
                    if (line.Length > limit)
                    {
                        if (!result.TryGetValue(relative, out var lines))
                        {
                            result[relative] = lines = [];
                        }

                        lines.Add((number, line.Length));
                    }
                }
            }
        }

        return result;
    }

    private static Dictionary<string, int> Parse(string[] baseline) =>
        baseline.Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' '))
            .ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);

    private static string Format(SortedDictionary<string, List<(int Number, int Length)>> actual, int limit)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# C# lines over {limit} characters that predate the limit in .editorconfig, per file: PATH COUNT.\n");
        text.Append("# The list only shrinks (tests/Flotel.Model.Tests/Repository/LineLengthTests.cs); new lines keep to the limit.\n");
        foreach (var (file, lines) in actual)
        {
            text.Append(CultureInfo.InvariantCulture, $"{file} {lines.Count}\n");
        }

        return text.ToString();
    }
}
