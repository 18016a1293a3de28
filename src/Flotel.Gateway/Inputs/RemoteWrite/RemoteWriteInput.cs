using System.Buffers;
using System.Globalization;
using System.Text;
using Flotel.Gateway.Fleet;
using Flotel.Gateway.Queueing;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Flotel.Store.Metrics;
using Flotel.Wire.Queueing;
using Flotel.Wire.RemoteWrite;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Inputs.RemoteWrite;

/// <summary>
/// <c>POST /api/v1/write</c> and <c>/write</c> (architecture §6): Prometheus remote write 1.0. The body is checked
/// (headers → 415, compressed and declared decompressed size → 413, snappy/protobuf/labels → 400) and then queued
/// still compressed; the 2xx is sent only after the queue made it durable. A full queue answers 429 with
/// <c>Retry-After</c>, which every remote-write sender retries. A queue that cannot write (a full data disk) answers
/// 503 with <c>Retry-After</c>: Prometheus retries every 5xx (and honours Retry-After on them), so 507 would be retried
/// too, but 503 is the status every sender, proxy and load balancer reads as "this instance, later" — the same answer
/// <c>/readyz</c> gives meanwhile.
/// <para>
/// Series limit (<c>store.metrics.maxSeries</c>): the store refuses new series beyond it when it writes (counted in
/// <c>flotel_store_series_refused_total</c>). So that the sender learns it, a request is checked here when the store is
/// already at its limit: if it carries a series the store does not hold, it is still queued — the samples of the series
/// the store holds are stored, the new series are dropped there — and the answer is 400 naming the limit, as Mimir and
/// Cortex answer "per-user series limit exceeded": a sender does not retry a 4xx, which a request that can only be
/// refused again should not be (a 429 would be retried forever and hold back the sender's other samples). A request
/// whose series all exist is answered 204. Below the limit nothing is checked; a request that crosses it is accepted
/// and the store drops (and counts) the series past the limit.
/// </para>
/// <para>
/// On the fleet listener a request comes with a device certificate (<see cref="FleetAccess"/> checked it): its record
/// names the device and its series get the device's <c>edgedeviceid</c> (<see cref="DeviceLabel"/>, docs/fleet.md §6).
/// </para>
/// </summary>
public sealed partial class RemoteWriteInput
{
    private readonly IRecordSink _sink;
    private readonly RemoteWriteLimits _limits;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Counter _requests;
    private readonly Counter _samples;
    private readonly Counter _series;
    private readonly Counter _queueFull;
    private readonly Counter _writeFailed;
    private readonly MetricsRegistry _metrics;
    private readonly WarningThrottle _rejectedWarnings;
    private readonly ISeriesAdmission? _admission;
    private readonly Counter _seriesLimited;
    private readonly MetricMetadataStore? _metadata;
    private readonly IDeviceCertificates? _devices;

    /// <param name="metadata">When given, keeps the metric metadata of accepted requests (<c>/api/v1/metadata</c>).</param>
    /// <param name="devices">The fleet, to count samples that arrived with a device certificate; null without the fleet.</param>
    public RemoteWriteInput(IRecordSink sink, RemoteWriteLimits limits, MetricsRegistry metrics, TimeProvider time, ILogger logger, ISeriesAdmission? admission = null, MetricMetadataStore? metadata = null, IDeviceCertificates? devices = null)
    {
        _devices = devices;
        _admission = admission;
        _metadata = metadata;
        _sink = sink;
        _limits = limits;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _rejectedWarnings = new WarningThrottle(time);
        _requests = metrics.Counter("flotel_remote_write_requests_total", "Remote-write requests accepted (2xx).");
        _samples = metrics.Counter("flotel_remote_write_samples_total", "Samples accepted by remote write.");
        _series = metrics.Counter("flotel_remote_write_series_total", "Series accepted by remote write.");
        _queueFull = metrics.Counter("flotel_remote_write_rejected_total", "Remote-write requests rejected, by reason.", ("reason", "queue_full"));
        _writeFailed = metrics.Counter("flotel_remote_write_rejected_total", "Remote-write requests rejected, by reason.", ("reason", "write_failed"));
        _seriesLimited = metrics.Counter("flotel_remote_write_rejected_total", "Remote-write requests rejected, by reason.", ("reason", "series_limit"));
    }

    /// <summary>Handles one request.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        byte[]? buffer = null;
        try
        {
            RemoteWriteHeaders.Validate(request.ContentType, request.Headers.ContentEncoding);
            if (request.ContentLength > _limits.MaxCompressedBytes)
            {
                throw new RemoteWriteException(RemoteWriteRejectReason.CompressedTooLarge, string.Create(CultureInfo.InvariantCulture,
                    $"body of {request.ContentLength} bytes is over the limit of {_limits.MaxCompressedBytes} bytes"));
            }

            var length = 0;
            var device = _devices is null ? null : FleetAccess.DeviceOrNull(context)?.Device;
            buffer = ArrayPool<byte>.Shared.Rent(HeaderReserve + (int)Math.Min(request.ContentLength ?? 64 * 1024, _limits.MaxCompressedBytes + 1L));
            var header = new ArrayBufferWriter<byte>(HeaderReserve);
            GatewayRecord.WriteHeader(header, GatewayRecordKind.RemoteWrite, _time.GetUtcNow().ToUnixTimeMilliseconds(), PeerOf(context), device);
            header.WrittenSpan.CopyTo(buffer);
            var bodyStart = header.WrittenCount;
            var reader = request.BodyReader;
            while (true)
            {
                var result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
                foreach (var segment in result.Buffer)
                {
                    if (length + segment.Length > _limits.MaxCompressedBytes)
                    {
                        reader.AdvanceTo(result.Buffer.End);
                        throw new RemoteWriteException(RemoteWriteRejectReason.CompressedTooLarge, string.Create(CultureInfo.InvariantCulture,
                            $"body is over the limit of {_limits.MaxCompressedBytes} bytes"));
                    }

                    if (bodyStart + length + segment.Length > buffer.Length)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, bodyStart + length + segment.Length));
                        buffer.AsSpan(0, bodyStart + length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    segment.Span.CopyTo(buffer.AsSpan(bodyStart + length));
                    length += segment.Length;
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            // Metadata is read in the same validating pass (a request without any costs one small object), and kept
            // only once the request is queued: a refused request leaves nothing behind.
            var metadata = _metadata is null ? null : new MetadataBuffer();
            var stats = RemoteWriteCodec.Decode(buffer.AsSpan(bodyStart, length), new ValidatingVisitor(metadata), _limits);
            ReadOnlyMemory<byte> record = buffer.AsMemory(0, bodyStart + length);
            if (device is not null)
            {
                // The device's own label replaces the sender's (docs/fleet.md §6), in the body the queue keeps.
                var rewritten = new ArrayBufferWriter<byte>(bodyStart + length + 1024);
                rewritten.Write(header.WrittenSpan);
                _ = DeviceLabel.Rewrite(buffer.AsSpan(bodyStart, length), device, _limits, rewritten);
                record = rewritten.WrittenMemory;
            }

            var newSeries = 0;
            if (_admission is { AtSeriesLimit: true } admission)
            {
                // Only at the limit: one more decode that looks each series up in the store.
                var counter = new NewSeriesVisitor(admission);
                _ = RemoteWriteCodec.Decode(record.Span[bodyStart..], counter, _limits);
                newSeries = counter.NewSeries;
            }

            try
            {
                await _sink.AppendAsync(record, context.RequestAborted).ConfigureAwait(false);
            }
            catch (QueueFullException)
            {
                _queueFull.Increment();
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers.RetryAfter = RetryAfterSeconds;
                await context.Response.WriteAsync("queue full, retry later\n", context.RequestAborted).ConfigureAwait(false);
                return;
            }
            catch (QueueWriteException)
            {
                // Logged (throttled) by the sink; nothing was acknowledged, the sender retries.
                _writeFailed.Increment();
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = RetryAfterSeconds;
                await context.Response.WriteAsync("the gateway cannot write its queue (data disk full?), retry later\n", context.RequestAborted).ConfigureAwait(false);
                return;
            }

            metadata?.CopyTo(_metadata!);
            if (newSeries > 0)
            {
                _seriesLimited.Increment();
                var message = string.Create(CultureInfo.InvariantCulture,
                    $"series limit exceeded: the metric store holds its maximum of {_admission!.MaxSeries} series (store.metrics.maxSeries) and {newSeries} of this request's {stats.Series} series are new; their samples are dropped, the samples of existing series were accepted");
                if (_rejectedWarnings.TryAcquire(out var suppressed))
                {
                    LogRejected(_logger, StatusCodes.Status400BadRequest, message, suppressed, _rejectedWarnings.Interval.TotalSeconds);
                }

                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsync(message + "\n", context.RequestAborted).ConfigureAwait(false);
                return;
            }

            _requests.Increment();
            _samples.Add(stats.Samples);
            _series.Add(stats.Series);
            if (device is not null)
            {
                _devices?.CountIdentified(IdentifiedKind.Samples, stats.Samples);
            }

            context.Response.StatusCode = StatusCodes.Status204NoContent;
        }
        catch (RemoteWriteException e)
        {
            _metrics.Counter("flotel_remote_write_rejected_total", "Remote-write requests rejected, by reason.", ("reason", e.Reason.ToString())).Increment();
            if (_rejectedWarnings.TryAcquire(out var suppressed))
            {
                LogRejected(_logger, e.HttpStatusCode, e.Message, suppressed, _rejectedWarnings.Interval.TotalSeconds);
            }
            context.Response.StatusCode = e.HttpStatusCode;
            await context.Response.WriteAsync(e.Message + "\n", context.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>
    /// What a full queue asks senders to wait: long enough for an output to drain a batch, short enough that a
    /// Prometheus sender's own backoff (30 s max) is not the bottleneck.
    /// </summary>
    private const string RetryAfterSeconds = "5";

    /// <summary>Room for the record header (kind, time, peer, device) before the body in the same buffer.</summary>
    private const int HeaderReserve = GatewayRecord.MaxHeaderSize;

    private static string PeerOf(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        return address is null ? string.Empty : (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Remote write rejected with {Status}: {Reason} ({Suppressed} more rejections not logged; at most one warning per {IntervalSeconds} s, all counted in flotel_remote_write_rejected_total)")]
    private static partial void LogRejected(ILogger logger, int status, string reason, long suppressed, double intervalSeconds);

    /// <summary>Counts the series of a request the store does not hold (asked only while the store is at its series limit).</summary>
    private sealed class NewSeriesVisitor(ISeriesAdmission admission) : IWriteRequestVisitor
    {
        public int NewSeries { get; private set; }

        public void BeginSeries(SeriesLabels labels)
        {
            if (!admission.HasSeries(labels))
            {
                NewSeries++;
            }
        }

        public void Sample(long timestampMs, double value)
        {
        }

        public void EndSeries()
        {
        }

        public void Metadata(MetricMetadataType type, ReadOnlySpan<byte> metricFamilyName, ReadOnlySpan<byte> help, ReadOnlySpan<byte> unit)
        {
        }
    }

    /// <summary>Decodes to validate: labels, structure, limits. Keeps only the metadata entries, when asked to.</summary>
    private readonly struct ValidatingVisitor(MetadataBuffer? metadata) : IWriteRequestVisitor
    {
        public void BeginSeries(SeriesLabels labels)
        {
        }

        public void Sample(long timestampMs, double value)
        {
        }

        public void EndSeries()
        {
        }

        public void Metadata(MetricMetadataType type, ReadOnlySpan<byte> metricFamilyName, ReadOnlySpan<byte> help, ReadOnlySpan<byte> unit) =>
            metadata?.Add(type, metricFamilyName, help, unit);
    }

    /// <summary>The metadata entries of one request, held until the request is queued.</summary>
    private sealed class MetadataBuffer
    {
        private List<(MetricMetadataType Type, string Name, string Help, string Unit)>? _entries;

        public void Add(MetricMetadataType type, ReadOnlySpan<byte> name, ReadOnlySpan<byte> help, ReadOnlySpan<byte> unit) =>
            (_entries ??= []).Add((type, Encoding.UTF8.GetString(name), Encoding.UTF8.GetString(help), Encoding.UTF8.GetString(unit)));

        public void CopyTo(MetricMetadataStore store)
        {
            if (_entries is null)
            {
                return;
            }

            foreach (var (type, name, help, unit) in _entries)
            {
                store.Record(type, name, help, unit);
            }
        }
    }
}
