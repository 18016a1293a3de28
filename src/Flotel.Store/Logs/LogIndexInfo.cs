namespace Flotel.Store.Logs;

/// <summary>One index of the log store, as listed by <see cref="LogStore.ListIndices"/> (and <c>_cat/indices</c>).</summary>
/// <param name="Name">Index name, e.g. <c>logstash-2022.05.12</c>.</param>
/// <param name="Uuid">Random id given when the index was created (shown as <c>uuid</c> by <c>_cat/indices</c>).</param>
/// <param name="DocumentCount">Number of documents.</param>
/// <param name="SourceBytes">Sum of the UTF-8 sizes of the stored <c>_source</c> documents, uncompressed (on disk they are
/// compressed in blocks: <see cref="LogStore.StoredBytes"/> is what the index takes there, <c>_cat/indices</c>' store.size).</param>
/// <param name="NewestUnixMs">Newest <c>@timestamp</c> (or write time for documents without one), Unix milliseconds; retention by age uses it.</param>
public sealed record LogIndexInfo(string Name, string Uuid, long DocumentCount, long SourceBytes, long NewestUnixMs);
