using Flotel.Store.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>The PromQL value types (Prometheus's parser.ValueType).</summary>
public enum PromType
{
    Scalar,
    String,
    Vector,
    Matrix,
}

/// <summary>A parsed PromQL expression. Nodes are immutable; reference identity keys the evaluator's selector cache.</summary>
public abstract class PromExpr(int position)
{
    /// <summary>Offset of the node's first character in the query.</summary>
    public int Position { get; } = position;

    public abstract PromType Type { get; }

    /// <summary>
    /// Levels from this node down to its deepest leaf (a leaf is 1): how deep the evaluator recurses, bounded by
    /// <see cref="PromParser.MaxDepth"/>. Known when the node is made, since children are made first.
    /// </summary>
    public virtual int Height => 1;

    /// <summary>1 + the greatest height among <paramref name="children"/>.</summary>
    protected static int Above(IReadOnlyList<PromExpr> children)
    {
        var max = 0;
        foreach (var child in children)
        {
            max = Math.Max(max, child.Height);
        }

        return max + 1;
    }
}

internal sealed class NumberLiteral(int position, double value) : PromExpr(position)
{
    public double Value { get; } = value;

    public override PromType Type => PromType.Scalar;
}

internal sealed class StringLiteral(int position, string value) : PromExpr(position)
{
    public string Value { get; } = value;

    public override PromType Type => PromType.String;
}

public sealed class VectorSelector(int position, string? name, IReadOnlyList<LabelMatcher> matchers) : PromExpr(position)
{
    public string? Name { get; } = name;

    /// <summary>All matchers, the <c>__name__</c> one included.</summary>
    public IReadOnlyList<LabelMatcher> Matchers { get; } = matchers;

    public long OffsetMs { get; internal set; }

    /// <summary>The <c>@</c> modifier, or null.</summary>
    public PromAt? At { get; internal set; }

    public override PromType Type => PromType.Vector;
}

/// <summary>What an <c>@</c> modifier pins evaluation to.</summary>
public enum PromAtKind
{
    /// <summary>A fixed time (<see cref="PromAt.TimeMs"/>).</summary>
    Time,

    /// <summary><c>start()</c>: the query's start (an instant query's time).</summary>
    Start,

    /// <summary><c>end()</c>: the query's end (an instant query's time).</summary>
    End,
}

/// <summary>An <c>@</c> modifier: the selector or subquery is evaluated at this time whatever the evaluation step.</summary>
public sealed record PromAt(PromAtKind Kind, long TimeMs);

/// <summary>
/// A subquery <c>expr[range:step]</c>: <c>expr</c> evaluated at every multiple of the step (counted from time 0) in
/// [t − offset − range, t − offset], giving a range vector.
/// </summary>
internal sealed class Subquery(int position, PromExpr expr, long rangeMs, long stepMs) : PromExpr(position)
{
    public PromExpr Expr { get; } = expr;

    public long RangeMs { get; } = rangeMs;

    /// <summary>The step; 0 when omitted (the engine's default subquery step).</summary>
    public long StepMs { get; } = stepMs;

    public long OffsetMs { get; internal set; }

    public PromAt? At { get; internal set; }

    public override int Height { get; } = expr.Height + 1;

    public override PromType Type => PromType.Matrix;
}

internal sealed class MatrixSelector(int position, VectorSelector selector, long rangeMs) : PromExpr(position)
{
    public VectorSelector Selector { get; } = selector;

    public long RangeMs { get; } = rangeMs;

    public override PromType Type => PromType.Matrix;
}

internal sealed class Call(int position, string function, IReadOnlyList<PromExpr> args, PromType type = PromType.Vector) : PromExpr(position)
{
    public string Function { get; } = function;

    public IReadOnlyList<PromExpr> Args { get; } = args;

    public override int Height { get; } = Above(args);

    /// <summary>The function's return type (<c>scalar()</c> and <c>time()</c> are scalars).</summary>
    public override PromType Type { get; } = type;
}

internal sealed class Aggregate(int position, AggregateOp op, PromExpr expr, IReadOnlyList<string> grouping, bool without, PromExpr? param = null) : PromExpr(position)
{
    public AggregateOp Op { get; } = op;

    public PromExpr Expr { get; } = expr;

    /// <summary>The first argument of <c>topk</c>, <c>bottomk</c>, <c>quantile</c> (scalar) and <c>count_values</c> (string).</summary>
    public PromExpr? Param { get; } = param;

    public IReadOnlyList<string> Grouping { get; } = grouping;

    public bool Without { get; } = without;

    public override int Height { get; } = param is null ? expr.Height + 1 : Math.Max(expr.Height, param.Height) + 1;

    public override PromType Type => PromType.Vector;
}

internal sealed class Unary(int position, PromExpr expr) : PromExpr(position)
{
    public PromExpr Expr { get; } = expr;

    public override int Height { get; } = expr.Height + 1;

    public override PromType Type => Expr.Type;
}

internal sealed class Paren(int position, PromExpr expr) : PromExpr(position)
{
    public PromExpr Expr { get; } = expr;

    public override int Height { get; } = expr.Height + 1;

    public override PromType Type => Expr.Type;
}

/// <summary>The aggregation operators (Prometheus's parser.ItemType aggregators), read from their keyword once by the parser.</summary>
internal enum AggregateOp
{
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    Quantile,
    CountValues,
}

internal static class AggregateOpExtensions
{
    /// <summary>The operator's keyword as Prometheus prints it (lower case).</summary>
    public static string Keyword(this AggregateOp op) => op switch
    {
        AggregateOp.CountValues => "count_values",
        _ => op.ToString().ToLowerInvariant(),
    };
}

/// <summary>Vector matching cardinality (Prometheus's parser.VectorMatchCardinality).</summary>
internal enum MatchCardinality
{
    OneToOne,

    /// <summary><c>group_left</c>: the left side is the "many" side.</summary>
    ManyToOne,

    /// <summary><c>group_right</c>: the right side is the "many" side.</summary>
    OneToMany,

    /// <summary>The set operators <c>and</c>, <c>or</c>, <c>unless</c>.</summary>
    ManyToMany,
}

internal sealed class Binary(int position, TokenKind op, PromExpr lhs, PromExpr rhs) : PromExpr(position)
{
    public TokenKind Op { get; } = op;

    public PromExpr Lhs { get; } = lhs;

    public PromExpr Rhs { get; } = rhs;

    public override int Height { get; } = Math.Max(lhs.Height, rhs.Height) + 1;

    /// <summary>The <c>bool</c> modifier of a comparison.</summary>
    public bool ReturnBool { get; init; }

    /// <summary>Vector matching: null = default (all labels but <c>__name__</c>).</summary>
    public IReadOnlyList<string>? MatchingLabels { get; init; }

    /// <summary>True for <c>on(…)</c>, false for <c>ignoring(…)</c>.</summary>
    public bool On { get; init; }

    public MatchCardinality Card { get; init; }

    /// <summary>The labels of <c>group_left(…)</c>/<c>group_right(…)</c> copied from the "one" side.</summary>
    public IReadOnlyList<string> Include { get; init; } = [];

    public bool IsSetOperator => Op is TokenKind.And or TokenKind.Or or TokenKind.Unless;

    public bool IsComparison => Op is TokenKind.EqlEql or TokenKind.Neq or TokenKind.Lss or TokenKind.Gtr or TokenKind.Lte or TokenKind.Gte;

    public override PromType Type => Lhs.Type == PromType.Scalar && Rhs.Type == PromType.Scalar ? PromType.Scalar : PromType.Vector;
}
