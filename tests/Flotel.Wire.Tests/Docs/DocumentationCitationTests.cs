using System.Globalization;
using System.Text.RegularExpressions;
using Flotel.Wire.Tests.Manifests;

namespace Flotel.Wire.Tests.Docs;

/// <summary>
/// The repository explains itself: every "architecture §N", "style rule N" / "style.md rule N" and
/// "docs/reference/FILE.md §N" written in src/, tests/, bench/, docs/ and the top-level files names a document that is
/// in the repository and a section (or rule) that exists in it. A citation of a document that is not in the repository
/// (a reference section cited without its docs/reference file) fails too.
/// </summary>
public sealed partial class DocumentationCitationTests
{
    private static readonly string[] ScannedFolders = ["src", "tests", "bench", "docs"];

    private static readonly string[] ScannedTopLevelFiles =
        ["README.md", "CHANGELOG.md", "Directory.Build.props", "Directory.Packages.props", "BannedSymbols.txt", "test.sh"];

    private static readonly HashSet<string> ScannedExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".cs", ".csproj", ".props", ".sh", ".md", ".jsonl", ".json", ".yaml", ".yml", ".js", ".txt",
    };

    [Fact]
    public void ArchitectureCitations_NameExistingSections()
    {
        var root = ManifestTestKit.RepoRoot();
        var sections = Headings(Path.Combine(root, "docs", "architecture.md"));
        var failures = new List<string>();
        var count = 0;
        foreach (var (file, line, text) in Lines(root))
        {
            foreach (Match match in ArchitectureCitation().Matches(text))
            {
                count++;
                if (!sections.Contains(match.Groups["sec"].Value))
                {
                    failures.Add($"{file}:{line}: {match.Value} — docs/architecture.md has no section {match.Groups["sec"].Value}");
                }
            }
        }

        Assert.Empty(failures);
        Assert.True(count > 50, $"only {count} architecture citations found: is the scan looking at the repository?");
    }

    [Fact]
    public void StyleRuleCitations_NameExistingRules()
    {
        var root = ManifestTestKit.RepoRoot();
        var rules = new HashSet<int>();
        foreach (var text in File.ReadLines(Path.Combine(root, "docs", "style.md")))
        {
            var match = StyleRuleHeading().Match(text);
            if (match.Success)
            {
                rules.Add(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        }

        var failures = new List<string>();
        var count = 0;
        foreach (var (file, line, text) in Lines(root))
        {
            foreach (Match match in StyleCitation().Matches(text))
            {
                foreach (Capture number in match.Groups["rule"].Captures)
                {
                    count++;
                    if (!rules.Contains(int.Parse(number.Value, CultureInfo.InvariantCulture)))
                    {
                        failures.Add($"{file}:{line}: {match.Value} — docs/style.md has no rule {number.Value}");
                    }
                }
            }
        }

        Assert.Empty(failures);
        Assert.True(count > 10, $"only {count} style citations found: is the scan looking at the repository?");
    }

    [Fact]
    public void ReferenceCitations_NameAFileInTheRepositoryAndAnExistingSection()
    {
        var root = ManifestTestKit.RepoRoot();
        var headings = new Dictionary<string, HashSet<string>?>(StringComparer.Ordinal);
        var failures = new List<string>();
        var count = 0;
        foreach (var (file, line, text) in Lines(root))
        {
            if (BareReferenceCitation().IsMatch(text))
            {
                failures.Add($"{file}:{line}: a reference section cited without the docs/reference file it means");
            }

            foreach (Match match in ReferenceCitation().Matches(text))
            {
                var cited = match.Groups["file"].Value;
                if (!headings.TryGetValue(cited, out var sections))
                {
                    var path = Path.Combine(root, cited.Replace('/', Path.DirectorySeparatorChar));
                    sections = File.Exists(path) ? Headings(path) : null;
                    headings[cited] = sections;
                }

                if (sections is null)
                {
                    failures.Add($"{file}:{line}: {cited} is not in the repository");
                    continue;
                }

                foreach (Capture section in match.Groups["sec"].Captures)
                {
                    count++;
                    if (!sections.Contains(section.Value))
                    {
                        failures.Add($"{file}:{line}: {match.Value} — {cited} has no section {section.Value}");
                    }
                }
            }
        }

        Assert.Empty(failures);
        Assert.True(count > 50, $"only {count} reference citations found: is the scan looking at the repository?");
    }

    /// <summary>Section numbers of a Markdown file's numbered headings ("## 4. Title" → 4, "### 4.7 Title" → 4.7).</summary>
    private static HashSet<string> Headings(string path)
    {
        var sections = new HashSet<string>(StringComparer.Ordinal);
        foreach (var text in File.ReadLines(path))
        {
            var match = NumberedHeading().Match(text);
            if (match.Success)
            {
                sections.Add(match.Groups[1].Value);
            }
        }

        return sections;
    }

    private static IEnumerable<(string File, int Line, string Text)> Lines(string root)
    {
        var files = new List<string>();
        foreach (var folder in ScannedFolders)
        {
            var directory = Path.Combine(root, folder);
            if (Directory.Exists(directory))
            {
                files.AddRange(Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories));
            }
        }

        foreach (var name in ScannedTopLevelFiles)
        {
            var path = Path.Combine(root, name);
            if (File.Exists(path))
            {
                files.Add(path);
            }
        }

        foreach (var path in files)
        {
            var relative = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
            // This file spells out the patterns it looks for; it is not a citation.
            if (!ScannedExtensions.Contains(Path.GetExtension(path)) || IsBuildOutput(relative)
                || relative.EndsWith("/" + nameof(DocumentationCitationTests) + ".cs", StringComparison.Ordinal))
            {
                continue;
            }

            var number = 0;
            foreach (var text in File.ReadLines(path))
            {
                number++;
                yield return (relative, number, text);
            }
        }
    }

    private static bool IsBuildOutput(string relative) =>
        relative.Contains("/bin/", StringComparison.Ordinal) || relative.Contains("/obj/", StringComparison.Ordinal)
        || relative.Contains("/BenchmarkDotNet.Artifacts/", StringComparison.Ordinal);

    [GeneratedRegex(@"^#{1,4} ([0-9]+(?:\.[0-9]+)*)\.? ")]
    private static partial Regex NumberedHeading();

    [GeneratedRegex(@"^([0-9]+)\. \*\*")]
    private static partial Regex StyleRuleHeading();

    [GeneratedRegex(@"architecture §(?<sec>[0-9]+(?:\.[0-9]+)*)")]
    private static partial Regex ArchitectureCitation();

    // "style rule 4", "style.md rule 12", "style rules 3–5, 12", "style.md rules 5, 6,"
    [GeneratedRegex(@"style(?:\.md)? rules? (?<rule>[0-9]+)(?:\s*(?:,|–|-|and)\s*(?<rule>[0-9]+))*")]
    private static partial Regex StyleCitation();

    // "docs/reference/flotta-device-worker.md §4.4", "… §2.4–§2.6", "… §2, §4.4–4.6", "… §3.3 and §9.3"
    [GeneratedRegex(@"(?<file>docs/reference/[a-z0-9-]+\.md)`?\s*§(?<sec>[0-9]+(?:\.[0-9]+)*)(?:\s*(?:,|–|-|and)\s*§?(?<sec>[0-9]+(?:\.[0-9]+)*))*")]
    private static partial Regex ReferenceCitation();

    // "reference" + section sign, not preceded by a path (the escape keeps this file out of its own search).
    [GeneratedRegex(@"(?<![\w/.-])reference \u00a7")]
    private static partial Regex BareReferenceCitation();
}
