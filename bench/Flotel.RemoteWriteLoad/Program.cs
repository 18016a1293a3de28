using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Flotel.Bench;
using Flotel.Wire.RemoteWrite;

namespace Flotel.RemoteWriteLoad;

/// <summary>
/// A remote-write 1.0 load generator for the side-by-side benchmarks (bench/peers/remote-write.sh): the same bodies
/// go to VictoriaMetrics, Prometheus and the gateway. Loopback only, bounded in count and time.
/// </summary>
internal static class Program
{
    public static Task<int> Main(string[] args) => BenchOptions.RunAsync(LoadOptions.CreateCommand(RunAsync), "flotel-rwload", args);

    private static async Task<int> RunAsync(LoadOptions options)
    {
        var encoding = Stopwatch.StartNew();
        var (bodies, counts) = BodyFactory.EncodeOrLoad(options, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        long bodyBytes = 0;
        foreach (var body in bodies)
        {
            bodyBytes += body.Length;
        }

        await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"flotel-rwload: encoded {bodies.Length} bodies ({bodyBytes / 1024 / 1024} MiB, {(double)bodyBytes / bodies.Length / 1024:F0} KiB each) in {encoding.Elapsed.TotalSeconds:F1} s")).ConfigureAwait(false);

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = options.Concurrency, UseProxy = false };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        var result = await SendAsync(http, options, bodies, counts).ConfigureAwait(false);
        var samples = result.Samples;
        await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"requests={result.Sent} samples={samples} seconds={result.Seconds:F3} samples_per_s={samples / result.Seconds:F0} failed={result.Failed} retried={result.Retried} body_bytes={bodyBytes}")).ConfigureAwait(false);
        if (result.FirstError is not null)
        {
            await Console.Error.WriteLineAsync("flotel-rwload: first failure: " + result.FirstError).ConfigureAwait(false);
        }

        return result.Failed == 0 ? 0 : 1;
    }

    private static async Task<SendResult> SendAsync(HttpClient http, LoadOptions options, byte[][] bodies, long[] counts)
    {
        var clock = Stopwatch.StartNew();
        var result = new SendResult();
        var senders = new Task[options.Concurrency];
        for (var k = 0; k < senders.Length; k++)
        {
            var sender = k;
            senders[k] = Task.Run(async () =>
            {
                // Each sender owns the groups g with g mod Concurrency == sender and sends their requests in order, so
                // a series' samples arrive in timestamp order whatever the other senders do.
                for (var r = 0; r < bodies.Length && clock.Elapsed < options.Duration; r++)
                {
                    if (r % options.Groups % options.Concurrency == sender)
                    {
                        await PostAsync(http, options, bodies[r], counts[r], result, clock).ConfigureAwait(false);
                    }
                }
            });
        }

        await Task.WhenAll(senders).ConfigureAwait(false);
        result.Seconds = clock.Elapsed.TotalSeconds;
        return result;
    }

    private static async Task PostAsync(HttpClient http, LoadOptions options, byte[] body, long samples, SendResult result, Stopwatch clock)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(RemoteWriteHeaders.ContentType);
            content.Headers.ContentEncoding.Add(RemoteWriteHeaders.ContentEncoding);
            using var request = new HttpRequestMessage(HttpMethod.Post, options.Url) { Content = content };
            request.Headers.Add(RemoteWriteHeaders.VersionName, RemoteWriteHeaders.Version);
            string? failure;
            try
            {
                using var response = await http.SendAsync(request).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref result.Sent);
                    Interlocked.Add(ref result.Samples, samples);
                    return;
                }

                var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                failure = string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)response.StatusCode}: {text.Trim()}");
                if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable && attempt < 20 && clock.Elapsed < options.Duration)
                {
                    // The receiver is full: a sender backs off and retries (remote-write spec); the time counts.
                    Interlocked.Increment(ref result.Retried);
                    await Task.Delay(TimeSpan.FromMilliseconds(100 * (attempt + 1))).ConfigureAwait(false);
                    continue;
                }
            }
            catch (HttpRequestException e)
            {
                failure = e.Message;
            }

            Interlocked.Increment(ref result.Failed);
            Interlocked.CompareExchange(ref result.FirstError, failure, null);
            return;
        }
    }

    /// <summary>Shared by the senders; fields, so they can be incremented with <see cref="Interlocked"/>.</summary>
    private sealed class SendResult
    {
        public long Sent;
        public long Samples;
        public long Failed;
        public long Retried;
        public string? FirstError;
        public double Seconds;
    }
}
