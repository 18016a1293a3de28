namespace Flotel.Wire.Exposition;

/// <summary>One rejected line.</summary>
/// <param name="Line">1-based line number.</param>
/// <param name="Reason">Why it was rejected.</param>
public readonly record struct ExpositionError(int Line, ExpositionErrorReason Reason);
