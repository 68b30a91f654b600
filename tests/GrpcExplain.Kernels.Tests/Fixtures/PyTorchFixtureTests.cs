using System.Text.Json;
using GrpcExplain.Kernels.Tests.Support;

namespace GrpcExplain.Kernels.Tests.Fixtures;

/// <summary>
/// The double-precision references against PyTorch: forward outputs and autograd gradients of ops
/// written as stylegan2-ada-pytorch computes them (tools/fixtures/make_kernel_fixtures.py, float64).
/// Every backend is tested against these references, so this pins all of them to NVIDIA's conventions.
/// </summary>
public class PyTorchFixtureTests
{
    private const double Tolerance = 1e-6; // the op parameters (gains) reach the references as float32

    private static readonly Lazy<JsonElement[]> Cases = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch_kernels.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return [.. doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone())];
    });

    public static TheoryData<string> Names => [.. Cases.Value.Select(c => c.GetProperty("name").GetString()!)];

    [Fact]
    public void TheFixtureFileHoldsEveryOpFamily()
    {
        var ops = Cases.Value.Select(c => c.GetProperty("op").GetString()).ToHashSet();
        Assert.Equal(["modulated_conv2d", "upfirdn2d", "conv2d", "bias_act", "fully_connected", "normalize_2nd_moment"], ops);
    }

    [Theory, MemberData(nameof(Names))]
    public void ReferenceMatchesPyTorch(string name)
    {
        var c = Cases.Value.Single(e => e.GetProperty("name").GetString() == name);
        var p = c.GetProperty("params");
        var r = Data(c.GetProperty("r"));
        var (expectedY, grads) = (Data(c.GetProperty("y")), c.GetProperty("grads"));
        double[] In(string k) => Data(c.GetProperty("inputs").GetProperty(k));
        Shape ShapeOf(string k) => ShapeFrom(c.GetProperty("inputs").GetProperty(k));
        void Grad(string k, double[] actual) => Accuracy.AssertClose($"{name}: d{k}", actual, Data(grads.GetProperty(k)), null, Tolerance);

        switch (c.GetProperty("op").GetString())
        {
            case "modulated_conv2d":
            {
                var mp = new ModulatedConv2dParams(p.GetProperty("demodulate").GetBoolean(), p.GetProperty("up").GetBoolean());
                var (x, w, s) = (In("x"), In("weight"), In("styles"));
                Accuracy.AssertClose($"{name}: y", Reference.ModulatedConv2dForward(x, ShapeOf("x"), w, ShapeOf("weight"), s, mp), expectedY, null, Tolerance);
                var (dx, dw, ds) = Reference.ModulatedConv2dBackward(x, ShapeOf("x"), w, ShapeOf("weight"), s, r, mp);
                Grad("x", dx); Grad("weight", dw); Grad("styles", ds);
                break;
            }
            case "upfirdn2d":
            {
                var up = new Upfirdn2dParams(Int(p, "up"), Int(p, "down"), Int(p, "pad_x0"), Int(p, "pad_x1"), Int(p, "pad_y0"), Int(p, "pad_y1"), (float)p.GetProperty("gain").GetDouble());
                Accuracy.AssertClose($"{name}: y", Reference.Upfirdn2dForward(In("x"), ShapeOf("x"), up), expectedY, null, Tolerance);
                Grad("x", Reference.Upfirdn2dBackward(r, ShapeOf("x"), up));
                break;
            }
            case "conv2d":
            {
                var cp = new Conv2dParams(Int(p, "stride"), Int(p, "padding"), (float)p.GetProperty("weight_gain").GetDouble());
                Accuracy.AssertClose($"{name}: y", Reference.Conv2dForward(In("x"), ShapeOf("x"), In("weight"), ShapeOf("weight"), cp), expectedY, null, Tolerance);
                var (dx, dw) = Reference.Conv2dBackward(In("x"), ShapeOf("x"), In("weight"), ShapeOf("weight"), r, cp);
                Grad("x", dx); Grad("weight", dw);
                break;
            }
            case "bias_act":
            {
                var bp = new BiasActivateParams((float)p.GetProperty("slope").GetDouble(), (float)p.GetProperty("gain").GetDouble(), (float)p.GetProperty("clamp").GetDouble());
                bool noisy = c.GetProperty("inputs").TryGetProperty("noise", out _);
                double[]? noise = noisy ? In("noise") : null;
                int noiseBatch = noisy ? ShapeOf("noise")[0] : 1;
                double strength = noisy ? In("noise_strength")[0] : 0;
                Accuracy.AssertClose($"{name}: y", Reference.BiasActivateForward(In("x"), ShapeOf("x"), In("bias"), noise, noiseBatch, strength, bp), expectedY, null, Tolerance);
                var (dx, db, dn, dstr) = Reference.BiasActivateBackward(In("x"), ShapeOf("x"), In("bias"), noise, noiseBatch, strength, r, bp);
                Grad("x", dx); Grad("bias", db);
                if (noisy) { Grad("noise", dn!); Grad("noise_strength", [dstr]); }
                break;
            }
            case "fully_connected":
            {
                var fp = new FullyConnectedParams((float)p.GetProperty("lr_mul").GetDouble(), p.GetProperty("leaky_relu").GetBoolean());
                var (xs, ws) = (ShapeOf("x"), ShapeOf("weight"));
                var y = Reference.FullyConnectedForward(In("x"), In("weight"), In("bias"), xs[0], xs[1], ws[0], fp);
                Accuracy.AssertClose($"{name}: y", y, expectedY, null, Tolerance);
                var (dx, dw, db) = Reference.FullyConnectedBackward(In("x"), In("weight"), y, r, xs[0], xs[1], ws[0], fp);
                Grad("x", dx); Grad("weight", dw); Grad("bias", db);
                break;
            }
            case "normalize_2nd_moment":
            {
                var xs = ShapeOf("x");
                Accuracy.AssertClose($"{name}: y", Reference.Normalize2ndMomentForward(In("x"), xs[0], xs[1]), expectedY, null, Tolerance);
                Grad("x", Reference.Normalize2ndMomentBackward(In("x"), r, xs[0], xs[1]));
                break;
            }
            default:
                Assert.Fail($"{name}: unknown op in the fixture file.");
                break;
        }
    }

    private static int Int(JsonElement p, string key) => p.GetProperty(key).GetInt32();
    private static double[] Data(JsonElement t) => [.. t.GetProperty("data").EnumerateArray().Select(v => v.GetDouble())];
    private static Shape ShapeFrom(JsonElement t) => new([.. t.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32())]);
}
