namespace Flotel.Store.Query.Prometheus;

/// <summary>
/// A PromQL function's signature as the Prometheus documentation gives it (querying/functions): argument types,
/// how many trailing arguments are optional (<see cref="Variadic"/>: 0 none, n up to n more, -1 any number of the
/// last type) and the return type. The parser checks calls against it, as Prometheus does, so a wrong call is a
/// bad_data error with a position before any data is read.
/// </summary>
internal sealed record PromFunction(string Name, PromType[] ArgTypes, int Variadic, PromType ReturnType);

/// <summary>The functions this engine evaluates (see <see cref="PromEngine"/>).</summary>
internal static class PromFunctions
{
    private const PromType V = PromType.Vector;
    private const PromType M = PromType.Matrix;
    private const PromType S = PromType.Scalar;
    private const PromType Str = PromType.String;

    private static readonly Dictionary<string, PromFunction> Table = Build(
    [
        new("abs", [V], 0, V),
        new("absent", [V], 0, V),
        new("absent_over_time", [M], 0, V),
        new("acos", [V], 0, V),
        new("acosh", [V], 0, V),
        new("asin", [V], 0, V),
        new("asinh", [V], 0, V),
        new("atan", [V], 0, V),
        new("atanh", [V], 0, V),
        new("cos", [V], 0, V),
        new("cosh", [V], 0, V),
        new("day_of_month", [V], 1, V),
        new("day_of_week", [V], 1, V),
        new("day_of_year", [V], 1, V),
        new("days_in_month", [V], 1, V),
        new("deg", [V], 0, V),
        new("holt_winters", [M, S, S], 0, V),
        new("hour", [V], 1, V),
        new("minute", [V], 1, V),
        new("month", [V], 1, V),
        new("pi", [], 0, S),
        new("rad", [V], 0, V),
        new("sgn", [V], 0, V),
        new("sin", [V], 0, V),
        new("sinh", [V], 0, V),
        new("tan", [V], 0, V),
        new("tanh", [V], 0, V),
        new("year", [V], 1, V),
        new("ceil", [V], 0, V),
        new("clamp", [V, S, S], 0, V),
        new("clamp_max", [V, S], 0, V),
        new("clamp_min", [V, S], 0, V),
        new("exp", [V], 0, V),
        new("floor", [V], 0, V),
        new("histogram_quantile", [S, V], 0, V),
        new("label_join", [V, Str, Str, Str], -1, V),
        new("label_replace", [V, Str, Str, Str, Str], 0, V),
        new("ln", [V], 0, V),
        new("log10", [V], 0, V),
        new("log2", [V], 0, V),
        new("round", [V, S], 1, V),
        new("scalar", [V], 0, S),
        new("sort", [V], 0, V),
        new("sort_desc", [V], 0, V),
        new("sqrt", [V], 0, V),
        new("time", [], 0, S),
        new("timestamp", [V], 0, V),
        new("vector", [S], 0, V),

        new("rate", [M], 0, V),
        new("irate", [M], 0, V),
        new("increase", [M], 0, V),
        new("delta", [M], 0, V),
        new("idelta", [M], 0, V),
        new("deriv", [M], 0, V),
        new("predict_linear", [M, S], 0, V),
        new("changes", [M], 0, V),
        new("resets", [M], 0, V),
        new("avg_over_time", [M], 0, V),
        new("min_over_time", [M], 0, V),
        new("max_over_time", [M], 0, V),
        new("sum_over_time", [M], 0, V),
        new("count_over_time", [M], 0, V),
        new("last_over_time", [M], 0, V),
        new("present_over_time", [M], 0, V),
        new("stddev_over_time", [M], 0, V),
        new("stdvar_over_time", [M], 0, V),
        new("quantile_over_time", [S, M], 0, V),
    ]);

    public static bool TryGet(string name, out PromFunction function) => Table.TryGetValue(name, out function!);

    /// <summary>
    /// Functions that map each input series to one output series with the same labels minus <c>__name__</c>, so an
    /// enclosing aggregation that never groups by <c>__name__</c> may let them keep it (see PromEngine.EvalCall).
    /// </summary>
    public static bool MapsSeriesDroppingName(string name) => name switch
    {
        "abs" or "ceil" or "clamp" or "clamp_max" or "clamp_min" or "exp" or "floor" or "ln" or "log10" or "log2" or "round" or "sqrt" or "timestamp" => true,
        "sgn" or "acos" or "acosh" or "asin" or "asinh" or "atan" or "atanh" or "cos" or "cosh" or "sin" or "sinh" or "tan" or "tanh" or "deg" or "rad" => true,
        "day_of_month" or "day_of_week" or "day_of_year" or "days_in_month" or "hour" or "minute" or "month" or "year" => true,
        "holt_winters" => true,
        "rate" or "irate" or "increase" or "delta" or "idelta" or "deriv" or "predict_linear" or "changes" or "resets" => true,
        "avg_over_time" or "min_over_time" or "max_over_time" or "sum_over_time" or "count_over_time" or "present_over_time" => true,
        "stddev_over_time" or "stdvar_over_time" or "quantile_over_time" => true,
        _ => false,
    };

    private static Dictionary<string, PromFunction> Build(PromFunction[] functions)
    {
        var table = new Dictionary<string, PromFunction>(StringComparer.Ordinal);
        foreach (var f in functions)
        {
            table.Add(f.Name, f);
        }

        return table;
    }
}
