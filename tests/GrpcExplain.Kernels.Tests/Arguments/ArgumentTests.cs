using System.Text.RegularExpressions;
using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests.Arguments;

/// <summary>
/// Bad arguments to every op, on every backend: the right exception, a message naming the op and
/// the argument, and no tensor touched.
/// </summary>
public sealed class ArgumentTests(BackendPool pool)
{
    public static IReadOnlyList<BadCall> All { get; } =
        [.. BadCalls.Memory, .. BadCalls.FullyConnected, .. BadCalls.Normalize2ndMoment, .. BadCalls.Conv2d,
         .. BadCalls.ModulatedConv2d, .. BadCalls.Upfirdn2d, .. BadCalls.BiasActivate, .. BadCalls.SumOverBatchAndSpace];

    public static TheoryData<string, string> Cases => TestBackends.Matrix(All);

    [Theory, MemberData(nameof(Cases))]
    public void IsRejectedWithAClearMessage(string backend, string @case)
    {
        var c = OpCases.Find(All, @case);
        using var lease = pool.Acquire(backend);
        using var scene = new Scene(lease.Backend);
        var ex = Record.Exception(() => c.Call(scene));
        Assert.True(ex is not null, $"{c.Name}: the call was accepted.");
        Assert.True(c.ExpectedException.IsInstanceOfType(ex), $"{c.Name}: expected {c.ExpectedException.Name}, got {ex.GetType().Name}: {ex.Message}");
        Assert.True(ex.Message.Contains(c.Op, StringComparison.Ordinal), $"{c.Name}: the message does not name the op '{c.Op}': {ex.Message}");
        foreach (var name in c.Names)
            Assert.True(Regex.IsMatch(ex.Message, $@"\b{Regex.Escape(name)}\b"), $"{c.Name}: the message does not name '{name}': {ex.Message}");
        if (ex is ArgumentException a && c.Param is not null)
            Assert.True(a.ParamName == c.Param, $"{c.Name}: ParamName is '{a.ParamName}', expected '{c.Param}'.");
        scene.AssertUntouched();
    }
}
