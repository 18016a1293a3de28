namespace Flotel.IntegrationTests;

/// <summary>Peer tests run one at a time: the machine is small and shared.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PeerCollection
{
    /// <summary>The collection name.</summary>
    public const string Name = "real peers";
}
