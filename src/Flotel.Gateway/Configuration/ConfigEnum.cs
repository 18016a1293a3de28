namespace Flotel.Gateway.Configuration;

/// <summary>
/// How an enum key's members are spelled in the file: the member's name in camelCase (<c>Utf8</c> is <c>utf8</c>),
/// compared ordinally, as every other name in the file is.
/// </summary>
internal static class ConfigEnum
{
    /// <summary>The accepted spellings of <paramref name="type"/>'s members, in the order of their values.</summary>
    public static IReadOnlyList<string> Names(Type type) => [.. Enum.GetNames(type).Select(Camel)];

    /// <summary>How the file spells <paramref name="value"/>.</summary>
    public static string Spell(Enum value) => Camel(value.ToString());

    /// <summary>The member of <paramref name="type"/> spelled <paramref name="text"/>, or null.</summary>
    public static object? Parse(Type type, string text)
    {
        foreach (var name in Enum.GetNames(type))
        {
            if (string.Equals(Camel(name), text, StringComparison.Ordinal))
            {
                return Enum.Parse(type, name);
            }
        }

        return null;
    }

    /// <summary>The message for <paramref name="text"/> that spells no member: it lists the spellings that do.</summary>
    public static string Problem(Type type, string name, string text) =>
        $"`{name}` must be one of {string.Join(", ", Names(type))}; got '{text}'";

    private static string Camel(string name) => char.ToLowerInvariant(name[0]) + name[1..];
}
