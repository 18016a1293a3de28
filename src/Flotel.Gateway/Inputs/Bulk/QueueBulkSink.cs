using System.Buffers;
using System.Buffers.Text;
using Flotel.Gateway.Queueing;
using Flotel.Pipeline.Queue;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;
using Flotel.Wire.Queueing;

namespace Flotel.Gateway.Inputs.Bulk;

/// <summary>
/// <c>_bulk</c> into the durable queue: one record per request, answered 201 per document once the record is durable
/// (the embedded store output writes it moments later). Documents without an <c>_id</c> get one here, so the response
/// can name it and a replay after a crash writes the same id. A full queue, or one that cannot write (a full data
/// disk), answers 429 for every item, which bulk clients (Logstash, rsyslog omelasticsearch, Vector) retry.
/// </summary>
public sealed class QueueBulkSink(IRecordSink sink, TimeProvider time) : IBulkSink
{
    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<BulkItemResult>> AcceptAsync(IReadOnlyList<LogDocument> documents, CancellationToken cancellationToken)
    {
        var results = new BulkItemResult[documents.Count];
        if (documents.Count == 0)
        {
            return results;
        }

        var record = new ArrayBufferWriter<byte>(4096);
        GatewayRecord.WriteHeader(record, GatewayRecordKind.BulkDocuments, time.GetUtcNow().ToUnixTimeMilliseconds(), string.Empty);
        for (var i = 0; i < documents.Count; i++)
        {
            var d = documents[i];
            var id = d.Id ?? NewId();
            GatewayRecord.WriteDocument(record, d.Index, id, d.CreateOnly, d.Source.Span);
            results[i] = BulkItemResult.Created(d.Index, id);
        }

        try
        {
            await sink.AppendAsync(record.WrittenMemory, cancellationToken).ConfigureAwait(false);
        }
        catch (QueueFullException)
        {
            Refuse(documents, results, "the gateway's durable queue is full; retry later");
        }
        catch (QueueWriteException)
        {
            Refuse(documents, results, "the gateway cannot write its durable queue (data disk full?); retry later");
        }

        return results;
    }

    private static void Refuse(IReadOnlyList<LogDocument> documents, BulkItemResult[] results, string reason)
    {
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = BulkItemResult.Failed(documents[i].Index, results[i].Id, 429, "es_rejected_execution_exception", reason);
        }
    }

    /// <summary>A 20-character URL-safe id, the shape of Elasticsearch's auto-generated ids.</summary>
    private static string NewId()
    {
        // 15 of a version 4 Guid's bytes (the runtime's own secure random source: no OpenSSL loaded for it), skipping
        // the byte with its fixed variant bits.
        Span<byte> guid = stackalloc byte[16];
        _ = Guid.NewGuid().TryWriteBytes(guid);
        guid[9..].CopyTo(guid[8..]);
        return Base64Url.EncodeToString(guid[..15]);
    }
}
