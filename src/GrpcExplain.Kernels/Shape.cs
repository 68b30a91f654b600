namespace GrpcExplain.Kernels;

/// <summary>The dimensions of a contiguous float32 tensor (NCHW for images).</summary>
public readonly struct Shape : IEquatable<Shape>
{
    private readonly int[] _dims;

    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length == 0) throw new ArgumentException("A shape needs at least one dimension.", nameof(dims));
        long length = 1;
        foreach (var d in dims)
        {
            if (d <= 0) throw new ArgumentException($"Dimensions must be positive, got {Format(dims)}.", nameof(dims));
            length *= d;
            if (length > int.MaxValue) throw new ArgumentException($"Shape {Format(dims)} has more than {int.MaxValue} elements.", nameof(dims));
        }
        _dims = (int[])dims.Clone();
        Length = (int)length;
    }

    public int Rank => _dims?.Length ?? 0;
    public int Length { get; }
    public int this[int axis] => _dims[axis];
    public ReadOnlySpan<int> Dims => _dims;

    /// <summary>Batch, channels, height, width of a rank-4 NCHW shape.</summary>
    public (int N, int C, int H, int W) Nchw => Rank == 4
        ? (_dims[0], _dims[1], _dims[2], _dims[3])
        : throw new InvalidOperationException($"Shape {this} is not NCHW.");

    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in Dims) h.Add(d);
        return h.ToHashCode();
    }
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);
    public override string ToString() => Format(_dims ?? []);
    private static string Format(int[] dims) => "[" + string.Join(", ", dims) + "]";
}
