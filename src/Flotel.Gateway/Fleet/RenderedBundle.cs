namespace Flotel.Gateway.Fleet;

/// <summary>One device's rendered bundle: the YAML, its digest and the errors of the objects left out or broken.</summary>
public sealed record RenderedBundle(string Yaml, string Digest, IReadOnlyList<BundleError> Errors);
