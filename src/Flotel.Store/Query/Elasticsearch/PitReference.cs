namespace Flotel.Store.Query.Elasticsearch;

/// <summary>A search's <c>pit</c>: the point in time's id and, when given, its new <c>keep_alive</c> (a time value).</summary>
public sealed record PitReference(string Id, string? KeepAlive);
