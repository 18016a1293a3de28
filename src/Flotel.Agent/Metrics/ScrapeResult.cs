using Flotel.Wire.Exposition;

namespace Flotel.Agent.Metrics;

/// <summary>What one fetch returned: the body (valid until the next fetch of the same scraper) or why there is none.</summary>
internal readonly record struct ScrapeResult(bool Ok, ReadOnlyMemory<byte> Body, ExpositionFormat Format, string? Error)
{
    public static ScrapeResult Success(ReadOnlyMemory<byte> body, ExpositionFormat format) => new(true, body, format, null);

    public static ScrapeResult Failure(string error) => new(false, default, ExpositionFormat.PrometheusText, error);
}
