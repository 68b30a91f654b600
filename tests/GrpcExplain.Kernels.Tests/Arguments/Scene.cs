using GrpcExplain.Kernels.Cpu;
using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests.Arguments;

/// <summary>
/// The tensors of one bad call: each filled with its own random values, so that after the call is
/// rejected every one of them can be checked to still hold exactly what it held (nothing written
/// before the check, nothing out of bounds).
/// </summary>
public sealed class Scene(Backend backend) : IDisposable
{
    private static readonly Backend Other = new CpuBackend();
    private readonly List<(Tensor Tensor, float[] Values)> _tensors = [];
    private readonly Random _rng = TestData.Rng("scene");

    public Backend B { get; } = backend;

    /// <summary>A tensor of this backend.</summary>
    public Tensor T(params int[] dims) => Track(B, dims);

    /// <summary>A tensor of another backend instance.</summary>
    public Tensor Foreign(params int[] dims) => Track(Other, dims);

    public Tensor Disposed(params int[] dims)
    {
        var t = B.Allocate(dims);
        t.Dispose();
        return t;
    }

    private Tensor Track(Backend owner, int[] dims)
    {
        var values = TestData.Normal(_rng, new Shape(dims).Length);
        var t = owner.Upload(values, new Shape(dims));
        _tensors.Add((t, values));
        return t;
    }

    public void AssertUntouched()
    {
        foreach (var (t, values) in _tensors)
            Assert.True(values.AsSpan().SequenceEqual(t.Owner.Download(t)), $"The rejected call changed the contents of {t}.");
    }

    public void Dispose()
    {
        foreach (var (t, _) in _tensors) t.Dispose();
    }
}

/// <summary>
/// A call that must be rejected. <paramref name="Op"/> and every one of <paramref name="Names"/> must
/// appear in the message (the names as whole words; ArgumentException's "(Parameter 'x')" counts);
/// an ArgumentException's ParamName must be <paramref name="Param"/> when that is given.
/// </summary>
public sealed record BadCall(string Name, string Op, string[] Names, Action<Scene> Call, Type? Exception = null, string? Param = null) : IOpCase
{
    public bool Large => false;
    public Type ExpectedException => Exception ?? typeof(ArgumentException);

    /// <summary>A bad tensor argument.</summary>
    public static BadCall Arg(string name, string op, string argument, Action<Scene> call) => new(name, op, [argument], call, Param: argument);

    /// <summary>A bad value in the op's parameter record (ParamName "p"); the message must say which.</summary>
    public static BadCall Params(string name, string op, string word, Action<Scene> call) => new(name, op, [word], call, Param: "p");

    /// <summary>Two arguments that must not be the same tensor.</summary>
    public static BadCall Alias(string name, string op, string a, string b, Action<Scene> call) => new(name, op, [a, b], call);

    public static BadCall Disposed(string name, string op, string argument, Action<Scene> call) =>
        new(name, op, [argument], call, typeof(ObjectDisposedException));
}
