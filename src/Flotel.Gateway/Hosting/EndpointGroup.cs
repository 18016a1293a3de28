using Microsoft.AspNetCore.Builder;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// The credential group an endpoint belongs to. It is attached to the endpoint as metadata when the endpoint is mapped
/// (<see cref="EndpointGroups.InGroup{TBuilder}"/>), and <see cref="EndpointAuthorization"/> reads it from the endpoint
/// that routing selected — so every spelling of a path that reaches an endpoint (any letter case, a trailing slash,
/// an index name in front of <c>_bulk</c>) is judged by the same group, and a path no endpoint matches needs the query
/// credentials before it learns that it does not exist.
/// </summary>
public enum EndpointGroup
{
    /// <summary>Probes for orchestrators (<c>/healthz</c>, <c>/readyz</c>): never need credentials.</summary>
    Open,

    /// <summary>Data in: remote write and <c>_bulk</c> (<c>auth.ingest</c>).</summary>
    Ingest,

    /// <summary>Data out: <c>_search</c>, the Prometheus API, <c>/metrics</c>, the web UI's data (<c>auth.query</c>).</summary>
    Query,

    /// <summary>
    /// The web UI's static files: they hold no data (every view fetches it from the query endpoints), so they need the
    /// query credentials only when those are basic auth, where the browser's own prompt on the page is how a user signs
    /// in. With a bearer token the page must load first to ask for the token.
    /// </summary>
    UiAssets,

    /// <summary>The fleet admin API, <c>/api/fleet/…</c> on the HTTP listener (<c>auth.admin</c>, docs/fleet.md §7).</summary>
    Admin,

    /// <summary>Fleet listener routes a device uses before it has a certificate (<c>/fleet/v1/ca</c>, <c>/fleet/v1/enroll</c>).</summary>
    FleetOpen,

    /// <summary>Fleet listener routes that need a device certificate of the fleet CA (docs/fleet.md §5).</summary>
    FleetDevice,
}

/// <summary>The endpoint metadata that carries an <see cref="EndpointGroup"/>.</summary>
public sealed record EndpointGroupMetadata(EndpointGroup Group);

/// <summary>Attaching <see cref="EndpointGroup"/>s to endpoints and route groups.</summary>
public static class EndpointGroups
{
    /// <summary>Puts every endpoint built by <paramref name="builder"/> in <paramref name="group"/>.</summary>
    public static TBuilder InGroup<TBuilder>(this TBuilder builder, EndpointGroup group)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint => endpoint.Metadata.Add(new EndpointGroupMetadata(group)));
        return builder;
    }
}
