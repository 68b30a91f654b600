using System.Runtime.CompilerServices;

namespace GrpcExplain.Kernels.Cpu;

// The three convolution primitives as GEMMs over packed operands (see Gemm and ConvPacking).
public sealed unsafe partial class CpuBackend
{
    internal override void ConvForwardCore(Tensor x, Tensor weight, Tensor y, ConvGeometry g, Tensor? inScale, Tensor? outScale) =>
        ConvForwardCore(x, weight, y, g, inScale, outScale, null);

    /// <summary>The epilogue runs on each row of the output as the GEMM stores it, while it is in L1.</summary>
    internal override void ConvForwardCore(Tensor x, Tensor weight, Tensor y, ConvGeometry g, Tensor? inScale, Tensor? outScale, ConvEpilogue? epilogue)
    {
        if (IsNarrowPointwise(weight, g))
        {
            PointwiseSum(x, weight, y, g, inScale, outScale, sumOverWeightRows: false);
            ApplyEpilogue(y, epilogue);
            return;
        }
        if (Winograd.Applies(x.Shape, weight.Shape, g, WinogradMinPixels))
        {
            Winograd.Forward(this, x, weight, y, g.Gain, inScale, outScale, EpilogueArgs.Of(epilogue));
            return;
        }
        var plan = Plan("forward", g, x.Shape, weight.Shape, y.Shape, ConvPlan.Forward);
        RunPasses(plan, x, weight, y, inScale, outScale, stride: g.Stride, placement: 1, g.Gain, epilogue);
    }

    /// <summary>The transposed convolution, phase by phase (see <see cref="ConvPlan.Transposed"/>).</summary>
    internal override void ConvBackwardDataCore(Tensor dy, Tensor weight, Tensor dx, ConvGeometry g, Tensor? dyScale, Tensor? dxScale)
    {
        if (IsNarrowPointwise(weight, g))
        {
            PointwiseSum(dy, weight, dx, g, dyScale, dxScale, sumOverWeightRows: true);
            return;
        }
        var plan = Plan("transposed", g, dy.Shape, weight.Shape, dx.Shape, ConvPlan.Transposed);
        RunPasses(plan, dy, weight, dx, dyScale, dxScale, stride: 1, placement: g.Stride, g.Gain, null);
    }

    /// <summary>
    /// Each pass of the plan as a GEMM: rows = output channels, depth = (channel, tap), columns = the
    /// pass's output grid (n, a, b), read from the shifted input when the plan has one (whole rows at its
    /// pitch, junk columns not stored, or only the real points when the plan is dense) or gathered at
    /// <paramref name="stride"/>, placed at (placement·a + ry, placement·b + rx).
    /// </summary>
    /// With <paramref name="passOutputs"/>, pass i is stored instead densely into passOutputs[i] [n, co, Ga, Gb].
    private void RunPasses(ConvPlan plan, Tensor src, Tensor weight, Tensor dst, Tensor? inScale, Tensor? outScale, int stride, int placement, float gain,
        ConvEpilogue? epilogue, Tensor[]? passOutputs = null)
    {
        var (n, ci, h, w) = src.Shape.Nchw;
        var (_, co, oh, ow) = dst.Shape.Nchw;
        var e = EpilogueArgs.Of(epilogue);
        using var shifted = plan.Shifted is null ? null : new ShiftedInput(this, src, inScale, plan.Shifted);
        int* ro = Pin(plan.RowOffset);
        if (shifted is null)
        {
            var products = new Gemm.Product<GatherB, ConvStore>[plan.Passes.Length];
            for (int i = 0; i < products.Length; i++)
            {
                var pass = plan.Passes[i];
                products[i] = new(co, n * pass.Ga * pass.Gb, pass.Depth, PackedA(pass, ro, weight, co, gain),
                    new GatherB(P(src), ci, h, w, stride, Pin(pass.Channel), Pin(pass.OffY), Pin(pass.OffX), pass.Ga, pass.Gb, P(inScale)),
                    Store(pass, i, pass.Gb));
            }
            Gemm.RunMany(this, products);
            return;
        }
        var layout = plan.Shifted!;
        var shiftedProducts = new Gemm.Product<ShiftedB, ConvStore>[plan.Passes.Length];
        for (int i = 0; i < shiftedProducts.Length; i++)
        {
            var pass = plan.Passes[i];
            int gridWidth = plan.Dense ? pass.Gb : layout.Pitch;
            shiftedProducts[i] = new(co, n * pass.Ga * gridWidth, pass.Depth, PackedA(pass, ro, weight, co, gain),
                new ShiftedB(shifted.Pointer, layout.SamplePitch, layout.Pitch, pass.Ga, gridWidth, Pin(pass.Shifted!)),
                Store(pass, i, gridWidth));
        }
        Gemm.RunMany(this, shiftedProducts);

        // Columns of pass i walk a Ga x gridWidth grid; only the first Gb of each row are stored.
        ConvStore Store(ConvPass pass, int i, int gridWidth) => passOutputs is null
            ? new ConvStore(P(dst), co, oh, ow, placement, pass.Ry, pass.Rx, pass.Ga, gridWidth, P(outScale), storedB: pass.Gb, e)
            : new ConvStore(P(passOutputs[i]), co, pass.Ga, pass.Gb, 1, 0, 0, pass.Ga, gridWidth, P(outScale), storedB: pass.Gb, e);
    }

    /// <summary>A pass's weight, packed once per weight version (a phase no tap reaches has depth 0).</summary>
    private float[] PackedA(ConvPass pass, int* rowOffset, Tensor weight, int m, float gain) =>
        PackedWeight(weight, pass.WeightUse, m, pass.Depth, new WeightA(P(weight), rowOffset, Pin(pass.ColOffset), m, gain));

    /// <summary>The address of a pinned array (the plan's tables are allocated on the pinned heap).</summary>
    private static int* Pin(int[] pinned) => (int*)Unsafe.AsPointer(ref pinned[0]);

    private readonly Dictionary<(string, ConvGeometry, Shape, Shape, Shape), ConvPlan> _plans = [];

    private ConvPlan Plan(string kind, ConvGeometry g, Shape src, Shape weight, Shape dst, Func<ConvGeometry, Shape, Shape, Shape, ConvPlan> make)
    {
        // Per sample: the tables do not depend on the batch size, so one plan serves every batch.
        static Shape One(Shape s) => new(1, s[1], s[2], s[3]);
        var key = (kind, g, One(src), weight, One(dst));
        lock (_plans)
            if (_plans.TryGetValue(key, out var plan)) return plan;
        var made = make(g, key.Item3, weight, key.Item5);
        lock (_plans) _plans[key] = made;
        return made;
    }

    internal override void ConvBackwardWeightCore(Tensor x, Tensor dy, Tensor dWeight, ConvGeometry g, Tensor? xScale, Tensor? dyScale)
    {
        if (IsNarrowPointwise(dWeight, g))
        {
            PointwiseWeightGradient(x, dy, dWeight, g, xScale, dyScale);
            return;
        }
        var (n, ci, h, w) = x.Shape.Nchw;
        var (_, co, oh, ow) = dy.Shape.Nchw;
        int k = dWeight.Shape[2];
        Gemm.Run(this, co, ci * k * k, n * oh * ow,
            new MapRowsA(P(dy), co, oh * ow, P(dyScale)),
            new GatherTransposedB(P(x), ci, h, w, k, g.Stride, g.Padding, oh, ow, P(xScale)),
            new WeightStore(P(dWeight), co, ci, k * k, g.WeightTransposed, g.Gain));
    }

    internal static int[] Pinned(int length) => GC.AllocateArray<int>(Math.Max(length, 1), pinned: true);
}
