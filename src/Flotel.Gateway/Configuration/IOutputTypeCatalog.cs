namespace Flotel.Gateway.Configuration;

/// <summary>
/// What the configuration loader knows about output types: their <c>type:</c> names and, per name, the reader of an
/// entry's options. The loader knows no concrete output; the output registry (<c>Outputs/OutputRegistry.cs</c>)
/// implements this, so adding an output never touches the configuration code.
/// </summary>
public interface IOutputTypeCatalog
{
    /// <summary>Every known <c>type:</c> value, sorted ordinally (quoted in messages).</summary>
    IReadOnlyList<string> TypeNames { get; }

    /// <summary>The reader of <paramref name="type"/>'s options, or null for an unknown type.</summary>
    OutputTypes.Reader? FindReader(string type);
}
