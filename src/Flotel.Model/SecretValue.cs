namespace Flotel.Model;

/// <summary>
/// A credential (password, bearer token, basic-auth parameter) whose <see cref="ToString"/> is <c>***</c>, so it cannot
/// leak into logs, messages or a printed record (style rule 10). Not to be confused with
/// <see cref="Manifests.Secret"/>, the Kubernetes object such values are often read from. Two values are equal when
/// their text is, so a configuration holding one compares by value (a changed credential is a changed configuration).
/// </summary>
public sealed class SecretValue : IEquatable<SecretValue>
{
    private readonly string _value;

    public SecretValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _value = value;
    }

    /// <summary>The secret itself; call only where it is compared or sent.</summary>
    public string Reveal() => _value;

    /// <inheritdoc/>
    public override string ToString() => "***";

    /// <inheritdoc/>
    public bool Equals(SecretValue? other) => other is not null && string.Equals(_value, other._value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as SecretValue);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_value);
}
