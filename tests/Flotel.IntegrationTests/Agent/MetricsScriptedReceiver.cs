using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// A remote-write receiver on 127.0.0.1 that answers from a script (request n gets answer n; then 204), to drive the
/// agent through rejections and retries. Records every request with its body and arrival time.
/// </summary>
internal sealed class MetricsScriptedReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly (int Status, string? RetryAfter, string Body)[] _script;
    private readonly Task _loop;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public MetricsScriptedReceiver(params (int Status, string? RetryAfter, string Body)[] script)
    {
        _script = script;
        Port = Loopback.FreePort();
        _listener.Prefixes.Add("http://127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture) + "/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public sealed record Request(int Index, TimeSpan ArrivedAt, TimeSpan AnsweredAt, int Status, byte[] Body);

    public int Port { get; }

    public string WriteUrl => "http://127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture) + "/api/v1/write";

    public ConcurrentQueue<Request> Requests { get; } = new();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }

    private async Task LoopAsync()
    {
        var index = 0;
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var arrived = _clock.Elapsed;
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var (status, retryAfter, text) = index < _script.Length ? _script[index] : (204, null, string.Empty);
            context.Response.StatusCode = status;
            if (retryAfter is not null)
            {
                context.Response.Headers["Retry-After"] = retryAfter;
            }

            if (text.Length > 0)
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                context.Response.ContentType = "text/plain";
                await context.Response.OutputStream.WriteAsync(bytes);
            }

            context.Response.Close();
            Requests.Enqueue(new Request(index, arrived, _clock.Elapsed, status, body.ToArray()));
            index++;
        }
    }
}
