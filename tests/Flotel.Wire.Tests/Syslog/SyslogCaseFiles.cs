using System.Text.Json;

namespace Flotel.Wire.Tests.Syslog;

/// <summary>Reads the JSON-lines case files under Data/Syslog (see Data/Syslog/README.md for their sources).</summary>
internal static class SyslogCaseFiles
{
    private static readonly Lazy<Dictionary<string, JsonElement>> ParseCasesById = new(() => Load("parse-cases.jsonl"));
    private static readonly Lazy<Dictionary<string, JsonElement>> FramingCasesById = new(() => Load("framing-cases.jsonl"));

    public static IReadOnlyDictionary<string, JsonElement> ParseCases => ParseCasesById.Value;

    public static IReadOnlyDictionary<string, JsonElement> FramingCases => FramingCasesById.Value;

    private static Dictionary<string, JsonElement> Load(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Data", "Syslog", name);
        var cases = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonElement element = JsonDocument.Parse(line).RootElement.Clone();
            string id = element.GetProperty("id").GetString()!;
            Assert.True(element.TryGetProperty("source", out _), $"case {id} in {name} names no source");
            cases.Add(id, element);
        }

        return cases;
    }
}
