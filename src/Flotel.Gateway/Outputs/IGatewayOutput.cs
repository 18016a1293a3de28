namespace Flotel.Gateway.Outputs;

/// <summary>One configured output, started after the queue is open and stopped after the inputs (style rule 12).</summary>
public interface IGatewayOutput : IAsyncDisposable
{
    /// <summary>The output's name.</summary>
    string Name { get; }

    /// <summary>Starts reading the queue.</summary>
    void Start();

    /// <summary>Delivers what is queued within <paramref name="drainTimeout"/>, leaves the rest queued. Idempotent.</summary>
    Task StopAsync(TimeSpan drainTimeout);
}
