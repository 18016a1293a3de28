namespace Flotel.Gateway.Configuration;

/// <summary>A secret value whose <see cref="ToString"/> is <c>***</c>, so it cannot leak into logs (style.md rule 10).</summary>
public sealed class Secret
{
    private readonly string _value;

    public Secret(string value) => _value = value;

    /// <summary>The secret itself; call only where it is compared or sent.</summary>
    public string Reveal() => _value;

    /// <inheritdoc/>
    public override string ToString() => "***";
}
