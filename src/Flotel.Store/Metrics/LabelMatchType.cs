namespace Flotel.Store.Metrics;

/// <summary>The four PromQL label matcher operators.</summary>
public enum LabelMatchType
{
    /// <summary><c>l="v"</c></summary>
    Equal,

    /// <summary><c>l!="v"</c></summary>
    NotEqual,

    /// <summary><c>l=~"re"</c> (fully anchored)</summary>
    RegexMatch,

    /// <summary><c>l!~"re"</c> (fully anchored)</summary>
    RegexNoMatch,
}
