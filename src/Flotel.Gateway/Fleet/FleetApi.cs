using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotel.Model.Manifests;
using Flotel.Store.Fleet;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// The fleet routes (docs/fleet.md §4, §5 on the fleet listener; §7 the admin API on the HTTP listener). Errors are
/// <c>{"error": "…"}</c>; trouble of the gateway itself on a device route is 503 with <c>Retry-After</c>, never 401,
/// so a device never takes it for a refusal of its identity.
/// </summary>
public static class FleetApi
{
    /// <summary>Largest <c>/api/fleet/apply</c> body.</summary>
    public const int MaxApplyBytes = 16 * 1024 * 1024;

    /// <summary>Largest enrolment, renewal or token body (a token and a CSR are a few KiB).</summary>
    public const int MaxSmallBodyBytes = 64 * 1024;

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 32 };

    /// <summary>The device routes: <paramref name="open"/> needs no certificate, <paramref name="device"/> a device certificate.</summary>
    public static void MapFleetDeviceApi(this IEndpointRouteBuilder open, IEndpointRouteBuilder device, FleetService fleet)
    {
        ArgumentNullException.ThrowIfNull(open);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(fleet);
        open.MapGet("/fleet/v1/ca", () => Results.Text(fleet.Authority.Pem, "application/x-pem-file"));
        open.MapPost("/fleet/v1/enroll", context => DeviceRoute(context, async () =>
        {
            var body = await ReadObjectAsync(context, MaxSmallBodyBytes).ConfigureAwait(false);
            var (certificate, refusal) = fleet.Enroll(OptionalString(body, "token"), OptionalString(body, "csr"));
            if (refusal is not null)
            {
                await WriteErrorAsync(context, StatusCodes.Status401Unauthorized, refusal).ConfigureAwait(false);
                return;
            }

            await WriteJsonAsync(context, StatusCodes.Status200OK, new JsonObject { ["certificate"] = certificate, ["ca"] = fleet.Authority.Pem }).ConfigureAwait(false);
        }));
        device.MapGet("/fleet/v1/bundle", context => DeviceRoute(context, async () =>
        {
            var identity = FleetAccess.DeviceOf(context);
            double? waitSeconds = null;
            if (context.Request.Query["wait"] is { Count: > 0 } w)
            {
                if (!double.TryParse(w.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) || !double.IsFinite(s) || s < 0)
                {
                    throw new FleetRequestException("`wait` must be a number of seconds (at most 300)");
                }

                waitSeconds = s;
            }

            var (known, generation, bundle, deferred) = await fleet.GetBundleAsync(
                identity.Device, EntityTag(context.Request.Headers.IfNoneMatch.ToString()), FleetService.WaitFor(waitSeconds), context.RequestAborted).ConfigureAwait(false);
            if (!known)
            {
                await WriteErrorAsync(context, StatusCodes.Status404NotFound, $"no EdgeDevice {identity.Device} in the fleet").ConfigureAwait(false);
                return;
            }

            if (deferred)
            {
                // Over fleet.maxHeldPolls (docs/fleet.md §5): ask again after the interval, and let the connection close
                // once its open streams are done (HTTP/2 GOAWAY, HTTP/1.1 "Connection: close"), so the device holds no
                // connection until then. Graceful: a remote write or status report in flight on it completes.
                context.Response.Headers.RetryAfter = fleet.PollRetryAfter().ToString(CultureInfo.InvariantCulture);
                FleetAccess.CloseWhenIdle(context);
            }

            if (bundle is null)
            {
                context.Response.StatusCode = StatusCodes.Status304NotModified;
                context.Response.Headers.ETag = "\"" + EntityTag(context.Request.Headers.IfNoneMatch.ToString()) + "\"";
                return;
            }

            context.Response.Headers.ETag = "\"" + bundle.Digest + "\"";
            var errors = new JsonArray([.. bundle.Errors.Select(e => (JsonNode?)new JsonObject { ["object"] = e.Object, ["message"] = e.Message })]);
            await WriteJsonAsync(context, StatusCodes.Status200OK, new JsonObject
            {
                ["generation"] = generation,
                ["digest"] = bundle.Digest,
                ["manifests"] = bundle.Yaml,
                ["errors"] = errors,
            }).ConfigureAwait(false);
        })).WithMetadata(new FleetBundleMetadata());
        device.MapPost("/fleet/v1/status", context => DeviceRoute(context, async () =>
        {
            var identity = FleetAccess.DeviceOf(context);
            var body = await ReadObjectAsync(context, FleetStatus.MaxBodyBytes).ConfigureAwait(false);
            var instance = context.Request.Headers["X-Flotel-Instance"].ToString();
            fleet.ReportStatus(identity.Device, instance.Length == 0 ? null : instance, body);
            context.Response.StatusCode = StatusCodes.Status204NoContent;
        }));
        device.MapPost("/fleet/v1/renew", context => DeviceRoute(context, async () =>
        {
            var identity = FleetAccess.DeviceOf(context);
            var body = await ReadObjectAsync(context, MaxSmallBodyBytes).ConfigureAwait(false);
            var certificate = fleet.Renew(identity, OptionalString(body, "csr"));
            await WriteJsonAsync(context, StatusCodes.Status200OK, new JsonObject { ["certificate"] = certificate, ["ca"] = fleet.Authority.Pem }).ConfigureAwait(false);
        })).WithMetadata(new FleetRenewMetadata());
    }

    /// <summary>The admin API (docs/fleet.md §7).</summary>
    public static void MapFleetAdminApi(this IEndpointRouteBuilder admin, FleetService fleet, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(admin);
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(time);
        admin.MapPost("/api/fleet/apply", context => AdminRoute(context, async () =>
        {
            var body = await ReadObjectAsync(context, MaxApplyBytes).ConfigureAwait(false);
            if (body["objects"] is not JsonArray entries)
            {
                throw new FleetRequestException("the body must be {\"objects\": [{\"yaml\": \"…\", \"source\": \"FILE:LINE\"}]}");
            }

            if (entries.Count > FleetService.MaxObjects)
            {
                throw new FleetRequestException(string.Create(CultureInfo.InvariantCulture, $"at most {FleetService.MaxObjects} objects per apply"));
            }

            var (canary, canaryTimeout) = RolloutOf(body);
            var now = time.GetUtcNow();
            var objects = new List<FleetObject>();
            var problems = new List<string>();
            var seen = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                var o = entry as JsonObject ?? throw new FleetRequestException("every entry of `objects` must be {\"yaml\": …, \"source\": …}");
                var yaml = OptionalString(o, "yaml") ?? throw new FleetRequestException("every entry of `objects` needs `yaml`");
                var source = OptionalString(o, "source") ?? "request";
                var (parsed, diagnostics) = FleetObjects.Parse(yaml, source, now);
                problems.AddRange(diagnostics.Where(d => d.IsError).Select(d => d.ToString()));
                if (parsed is null)
                {
                    continue;
                }

                if (seen.TryGetValue(parsed.Key, out var first))
                {
                    var (file, line) = FleetRenderer.ParseSource(source);
                    problems.Add(new ManifestDiagnostic(DiagnosticSeverity.Error, file, line, "metadata.name", $"{parsed.Key} is defined twice (first at {first})").ToString());
                    continue;
                }

                seen[parsed.Key] = source;
                objects.Add(parsed);
            }

            if (problems.Count > 0)
            {
                await WriteJsonAsync(context, StatusCodes.Status400BadRequest, new JsonObject
                {
                    ["error"] = string.Create(CultureInfo.InvariantCulture, $"invalid manifests ({problems.Count} problems); nothing was stored"),
                    ["diagnostics"] = new JsonArray([.. problems.Select(p => (JsonNode?)p)]),
                }).ConfigureAwait(false);
                return;
            }

            var results = fleet.Apply(objects, canary, canaryTimeout);
            var answer = new JsonArray();
            for (var i = 0; i < objects.Count; i++)
            {
                answer.Add(new JsonObject { ["object"] = objects[i].Key, ["result"] = results[i].ToString().ToLowerInvariant() });
            }

            await WriteJsonAsync(context, StatusCodes.Status200OK, answer).ConfigureAwait(false);
        }));
        admin.MapDelete("/api/fleet/objects/{kind}/{name}", (HttpContext context, string kind, string name) => AdminRoute(context, async () =>
        {
            var key = kind + "/" + name;
            if (kind is not (FleetRenderer.DeviceKind or FleetRenderer.WorkloadKind or FleetRenderer.ConfigMapKind or FleetRenderer.SecretKind))
            {
                throw new FleetRequestException($"unknown kind '{kind}': use edgedevice, edgeworkload, configmap or secret");
            }

            if (!fleet.Delete(kind, name))
            {
                await WriteErrorAsync(context, StatusCodes.Status404NotFound, key + " not found").ConfigureAwait(false);
                return;
            }

            await WriteJsonAsync(context, StatusCodes.Status200OK, new JsonObject { ["object"] = key, ["result"] = "deleted" }).ConfigureAwait(false);
        }));
        admin.MapGet("/api/fleet/devices", context => AdminRoute(context, () => WriteJsonAsync(context, StatusCodes.Status200OK, fleet.DescribeDevices())));
        admin.MapGet("/api/fleet/workloads", context => AdminRoute(context, () => WriteJsonAsync(context, StatusCodes.Status200OK, fleet.DescribeWorkloads())));
        admin.MapGet("/api/fleet/rollout", context => AdminRoute(context, () => WriteJsonAsync(context, StatusCodes.Status200OK, fleet.DescribeRollout())));
        admin.MapPost("/api/fleet/rollout/promote", context => AdminRoute(context, () => RolloutAnswerAsync(context, fleet.PromoteRollout())));
        admin.MapPost("/api/fleet/rollout/abort", context => AdminRoute(context, () => RolloutAnswerAsync(context, fleet.AbortRollout())));
        admin.MapPost("/api/fleet/tokens", context => AdminRoute(context, async () =>
        {
            var body = await ReadObjectAsync(context, MaxSmallBodyBytes).ConfigureAwait(false);
            var device = OptionalString(body, "device") ?? throw new FleetRequestException("`device` is required");
            var ttl = body["ttlSeconds"] is { } t
                ? (t is JsonValue v && v.TryGetValue<long>(out var seconds) ? TimeSpan.FromSeconds(seconds) : throw new FleetRequestException("`ttlSeconds` must be an integer"))
                : TimeSpan.FromDays(1);
            var (token, expires) = fleet.CreateToken(device, ttl);
            await WriteJsonAsync(context, StatusCodes.Status200OK, new JsonObject { ["token"] = token, ["expires"] = FleetStatus.Rfc3339(expires) }).ConfigureAwait(false);
        }));
    }

    /// <summary>
    /// The admin API of a gateway without the fleet: every <c>/api/fleet/…</c> request is a 404 that says the fleet is
    /// off (<c>"fleetEnabled": false</c>), so the web UI and the CLI can say so instead of "no handler found".
    /// </summary>
    public static void MapFleetDisabledApi(this IEndpointRouteBuilder admin)
    {
        ArgumentNullException.ThrowIfNull(admin);
        admin.Map("/api/fleet/{**rest}", context => WriteJsonAsync(context, StatusCodes.Status404NotFound, new JsonObject
        {
            ["error"] = "the fleet is not enabled on this gateway: set fleet.enabled: true in its configuration (docs/fleet.md §2)",
            ["fleetEnabled"] = false,
        }));
    }

    /// <summary>The ended rollout, or 409 when there was none in progress or halted.</summary>
    private static Task RolloutAnswerAsync(HttpContext context, JsonObject? rollout) => rollout is null
        ? WriteErrorAsync(context, StatusCodes.Status409Conflict, "no rollout is progressing or halted")
        : WriteJsonAsync(context, StatusCodes.Status200OK, rollout);

    /// <summary>The apply body's optional <c>"rollout": {"canary": "10%"|"3", "timeoutSeconds": 300}</c> (docs/fleet.md §3.1).</summary>
    private static (CanarySize? Canary, TimeSpan Timeout) RolloutOf(JsonObject body)
    {
        if (body["rollout"] is null)
        {
            return (null, FleetService.DefaultCanaryTimeout);
        }

        var rollout = body["rollout"] as JsonObject ?? throw new FleetRequestException("`rollout` must be {\"canary\": \"10%\", \"timeoutSeconds\": 300}");
        var canary = CanarySize.Parse(OptionalString(rollout, "canary") ?? throw new FleetRequestException("`rollout.canary` is required"), out var error)
            ?? throw new FleetRequestException("`rollout.canary`: " + error);
        var timeout = FleetService.DefaultCanaryTimeout;
        if (rollout["timeoutSeconds"] is { } t)
        {
            if (t is not JsonValue v || !v.TryGetValue<long>(out var seconds) || seconds < 1 || seconds > (long)FleetService.MaxCanaryTimeout.TotalSeconds)
            {
                throw new FleetRequestException("`rollout.timeoutSeconds` must be an integer from 1 to 86400");
            }

            timeout = TimeSpan.FromSeconds(seconds);
        }

        return (canary, timeout);
    }

    /// <summary>Writes <c>{"error": message}</c> with <paramref name="status"/>.</summary>
    public static Task WriteErrorAsync(HttpContext context, int status, string message) =>
        WriteJsonAsync(context, status, new JsonObject { ["error"] = message });

    private static async Task WriteJsonAsync(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A device route: bad requests are 400, the gateway's own trouble 503 with Retry-After (never 401).</summary>
    private static async Task DeviceRoute(HttpContext context, Func<Task> handle)
    {
        try
        {
            await handle().ConfigureAwait(false);
        }
        catch (FleetRequestException e)
        {
            await WriteErrorAsync(context, e is FleetBodyTooLargeException ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The device went away.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            context.Response.Headers.RetryAfter = "30";
            await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "the gateway cannot answer now: " + e.Message).ConfigureAwait(false);
        }
    }

    private static async Task AdminRoute(HttpContext context, Func<Task> handle)
    {
        try
        {
            await handle().ConfigureAwait(false);
        }
        catch (FleetRequestException e)
        {
            await WriteErrorAsync(context, e is FleetBodyTooLargeException ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
        }
    }

    /// <summary>Reads a JSON object body of at most <paramref name="maxBytes"/>.</summary>
    private static async Task<JsonObject> ReadObjectAsync(HttpContext context, int maxBytes)
    {
        if (context.Request.ContentLength > maxBytes)
        {
            throw new FleetBodyTooLargeException(maxBytes);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new FleetBodyTooLargeException(maxBytes);
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            return JsonNode.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), documentOptions: JsonOptions) as JsonObject
                ?? throw new FleetRequestException("the body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new FleetRequestException("the body is not valid JSON: " + e.Message);
        }
    }

    private static string? OptionalString(JsonObject o, string field) => o[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw new FleetRequestException($"`{field}` must be a string"),
    };

    /// <summary>The digest in an <c>If-None-Match</c> value (<c>"sha256:…"</c>, <c>W/"…"</c>); empty when absent.</summary>
    private static string EntityTag(string header)
    {
        var tag = header.Trim();
        if (tag.StartsWith("W/", StringComparison.Ordinal))
        {
            tag = tag[2..];
        }

        return tag.Trim('"');
    }
}
