using Flotel.Model.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Gateway.Outputs.EmbeddedStore;

/// <summary>One item of the <c>store-logs</c> reader: a parsed syslog event or a <c>_bulk</c> document (exactly one is set).</summary>
/// <param name="Event">A syslog event, parsed from a frame.</param>
/// <param name="Document">A <c>_bulk</c> document whose source points into its queue record.</param>
/// <param name="Sequence">The sequence id of the queue record the item came from (what the store's position counts).</param>
public readonly record struct StoreLogItem(LogEvent? Event, LogDocument? Document, long Sequence);
