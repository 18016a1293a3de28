namespace Flotel.Gateway.Configuration;

/// <summary>
/// One mapping level of the configuration file: a key (when one is declared at this path) and the keys and mappings
/// below it. A node can be both, as <c>syslog.tls</c> is: a TLS mapping that also holds <c>syslog.tls.address</c>.
/// </summary>
internal sealed class ConfigNode(string name)
{
    private readonly Dictionary<string, ConfigNode> _children = new(StringComparer.Ordinal);

    public string Name { get; } = name;

    public ConfigKey? Key { get; set; }

    /// <summary>The section whose object this mapping fills (<c>fleet</c>); created when the file holds the mapping.</summary>
    public ConfigSection? Section { get; set; }

    /// <summary>The names accepted in this mapping; any other is warned about as unknown.</summary>
    public HashSet<string> ChildNames { get; } = new(StringComparer.Ordinal);

    /// <summary>The children in declaration order.</summary>
    public List<ConfigNode> Children { get; } = [];

    public ConfigNode? Find(string name) => _children.GetValueOrDefault(name);

    public ConfigNode Child(string name)
    {
        if (!_children.TryGetValue(name, out var child))
        {
            child = new ConfigNode(name);
            _children.Add(name, child);
            ChildNames.Add(name);
            Children.Add(child);
        }

        return child;
    }
}
