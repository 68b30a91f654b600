using GrpcExplain.Kernels.Ilgpu;
using GrpcExplain.Kernels.Tests.Support;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace GrpcExplain.Kernels.Tests.Ilgpu;

/// <summary>What is particular to the ILGPU backend: its GPU tile configuration, determinism, and cleanup.</summary>
public sealed class IlgpuBackendTests
{
    private static bool EmulatorSelected => TestBackends.Selected.Contains(TestBackends.IlgpuCpu);

    /// <summary>
    /// The GPU's GEMM tiles (v1: 64x64 on 256 threads; v2: 128x128 on 256 threads, with its launch
    /// bounds) on an emulated device with 256 threads per group. Slow, so one shape per version, with
    /// more rows and columns than a tile so tiles are partial on both axes.
    /// </summary>
    [Theory]
    [InlineData("v1", 70, 9, 8)]
    [InlineData("v2", 130, 12, 11)]
    public void GpuTileConfigurationMatchesReference(string version, int outChannels, int height, int width)
    {
        if (!EmulatorSelected) Assert.Skip("ilgpu-cpu is not among GRPCEXPLAIN_TEST_BACKENDS.");
        var options = new IlgpuBackendOptions { Gemm = IlgpuBackendOptions.ParseGemm(version) };
        using var b = IlgpuBackend.CreateCpu(new CPUDevice(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 8, numMultiprocessors: 1), options);
        Assert.True(b.LargeTiles);
        Assert.Equal(options.Gemm, b.GemmVersion);

        var p = new Conv2dParams(Stride: 1, Padding: 1, WeightGain: Conv2dParams.EqualizedGain(9, 3));
        Shape xs = new(1, 9, height, width), ws = new(outChannels, 9, 3, 3), ys = new(1, outChannels, height, width);
        var rng = TestData.Rng("ilgpu gpu tile");
        double[] x = TestData.NormalDouble(rng, xs.Length), w = TestData.NormalDouble(rng, ws.Length), dy = TestData.NormalDouble(rng, ys.Length);
        using var tx = b.Upload(TestData.ToFloat(x), xs);
        using var tw = b.Upload(TestData.ToFloat(w), ws);
        using var tdy = b.Upload(TestData.ToFloat(dy), ys);
        using var ty = b.Sentinel(ys);
        using var tdx = b.Sentinel(xs);
        using var tdw = b.Sentinel(ws);
        b.Conv2dForward(tx, tw, ty, p);
        b.SplitsOverride = 2;
        b.Conv2dBackward(tx, tw, tdy, tdx, tdw, p);
        var (dxRef, dwRef) = Reference.Conv2dBackward(x, xs, w, ws, dy, p);
        Accuracy.AssertClose("y", b.Download(ty), Reference.Conv2dForward(x, xs, w, ws, p), ys);
        Accuracy.AssertClose("dx", b.Download(tdx), dxRef, xs);
        Accuracy.AssertClose("dWeight", b.Download(tdw), dwRef, ws);
    }

    /// <summary>
    /// A single channel over a large batch and plane is summed in chunks by several groups, then
    /// the chunk sums in order: the noise-strength gradient and ToRGB's bias take that path.
    /// </summary>
    [Fact]
    public void ChunkedChannelSumsMatchReference()
    {
        if (!EmulatorSelected) Assert.Skip("ilgpu-cpu is not among GRPCEXPLAIN_TEST_BACKENDS.");
        using var b = IlgpuBackend.CreateCpu();
        Shape xs = new(2, 1, 33, 65);
        var rng = TestData.Rng("ilgpu chunked sums");
        double[] x = TestData.NormalDouble(rng, xs.Length), dy = TestData.NormalDouble(rng, xs.Length), noise = TestData.NormalDouble(rng, xs.Length);
        using var tx = b.Upload(TestData.ToFloat(x), xs);
        using var sum = b.Sentinel(1);
        b.SumOverBatchAndSpaceForward(tx, sum);
        Accuracy.AssertClose("sum", b.Download(sum), Reference.SumOverBatchAndSpaceForward(x, xs), new Shape(1));

        var p = BiasActivateParams.LeakyRelu();
        using var tn = b.Upload(TestData.ToFloat(noise), xs);
        using var strength = b.Upload([0.3f], 1);
        using var y = b.Allocate(xs);
        using var tdy = b.Upload(TestData.ToFloat(dy), xs);
        using var db = b.Sentinel(1);
        using var ds = b.Sentinel(1);
        b.BiasActivateForward(tx, null, tn, strength, y, p);
        b.BiasActivateBackward(y, tdy, tn, strength, null, db, null, ds, p);
        var (_, dbRef, _, dsRef) = Reference.BiasActivateBackward(x, xs, null, noise, 2, 0.3f, dy, p);
        Accuracy.AssertClose("dBias", b.Download(db), dbRef, new Shape(1));
        Accuracy.AssertClose("dNoiseStrength", b.Download(ds)[0], dsRef);
    }

    /// <summary>The same inputs give the same bits: every reduction has a fixed order (no float atomics).</summary>
    [Fact]
    public void GradientsAreDeterministic()
    {
        if (!EmulatorSelected) Assert.Skip("ilgpu-cpu is not among GRPCEXPLAIN_TEST_BACKENDS.");
        using var b = IlgpuBackend.CreateCpu();
        var rng = TestData.Rng("ilgpu determinism");
        Shape xs = new(2, 5, 6, 6), ws = new(4, 5, 3, 3), ss = new(2, 5);
        var mp = new ModulatedConv2dParams(Demodulate: true, Up: true);
        var ys = mp.OutputShape(xs, ws);
        using var x = b.Upload(TestData.Normal(rng, xs.Length), xs);
        using var w = b.Upload(TestData.Normal(rng, ws.Length), ws);
        using var s = b.Upload(TestData.Normal(rng, ss.Length, mean: 1), ss);
        using var dy = b.Upload(TestData.Normal(rng, ys.Length), ys);
        using var y = b.Allocate(ys);
        b.ModulatedConv2dForward(x, w, s, y, mp);
        b.SplitsOverride = 3;
        float[][] Run()
        {
            using var dx = b.Allocate(xs);
            using var dw = b.Allocate(ws);
            using var ds = b.Allocate(ss);
            b.ModulatedConv2dBackward(x, w, s, y, dy, dx, dw, ds, mp);
            return [b.Download(dx), b.Download(dw), b.Download(ds)];
        }
        var first = Run();
        var second = Run();
        for (int i = 0; i < first.Length; i++) Assert.Equal(first[i], second[i]);
    }

    /// <summary>Freed device buffers are reused for the next tensor of that length, which must still start as zeros.</summary>
    [Fact]
    public void ReusedBuffersComeBackZeroed()
    {
        if (!EmulatorSelected) Assert.Skip("ilgpu-cpu is not among GRPCEXPLAIN_TEST_BACKENDS.");
        using var b = IlgpuBackend.CreateCpu();
        var first = b.Upload(TestData.Filled(24, 3f), 2, 3, 4);
        first.Dispose();
        using var second = b.Allocate(4, 6);
        Assert.All(b.Download(second), v => Assert.Equal(0f, v));
        using var third = b.Upload(TestData.Filled(24, 5f), 24);
        Assert.All(b.Download(third), v => Assert.Equal(5f, v));
    }

    /// <summary>Disposing frees the kernels, caches and scratch; twice is harmless, and so are tensors outliving the backend.</summary>
    [Fact]
    public void DisposeReleasesEverythingOnce()
    {
        if (!EmulatorSelected) Assert.Skip("ilgpu-cpu is not among GRPCEXPLAIN_TEST_BACKENDS.");
        var b = IlgpuBackend.CreateCpu();
        var x = b.Upload(TestData.Filled(2 * 3 * 4 * 4, 0.5f), new Shape(2, 3, 4, 4));
        using (var y = b.Allocate(2, 3, 8, 8)) b.Upfirdn2dForward(x, y, Upfirdn2dParams.Upsample2x);
        using (var db = b.Allocate(3)) b.BiasActivateBackward(x, x, null, null, null, db, null, null, BiasActivateParams.LeakyRelu());
        b.Synchronize();
        b.Dispose();
        b.Dispose();
        x.Dispose();
    }

    [Fact]
    public void CudaProbeNeverThrows() => _ = IlgpuBackend.IsCudaAvailable();

    /// <summary>
    /// On the GPU, v2's kernels as the driver compiled them (launch bounds applied) fit two 256-thread
    /// groups per multiprocessor: registers within 128 a thread, shared memory within half the SM's.
    /// </summary>
    [Fact]
    public void GemmV2FitsTwoGroupsPerMultiprocessorOnCuda()
    {
        if (!TestBackends.Selected.Contains(TestBackends.Cuda)) Assert.Skip("cuda is not among the backends under test.");
        using var context = Context.Create(b => b.Cuda().EnableAlgorithms());
        using var accelerator = context.CreateCudaAccelerator(0);
        var gemm = typeof(ConvGemmV2).GetMethod(nameof(ConvGemmV2.Kernel))!;
        foreach (var lowering in new[] { typeof(ForwardLowering), typeof(BackwardDataLowering), typeof(BackwardWeightLowering) })
        {
            using var kernel = accelerator.LoadKernel(gemm.MakeGenericMethod(typeof(Tile128), lowering), IlgpuBackend.GemmV2Specialization);
            int groups = accelerator.EstimateMaxActiveGroupsPerMultiprocessor(kernel, Tile128.Threads, 0);
            Assert.True(groups >= 2, $"{lowering.Name}: {groups} group(s) of {Tile128.Threads} threads per multiprocessor");
        }
    }

    [Theory]
    [InlineData("v1", GemmVersion.V1)]
    [InlineData("V2", GemmVersion.V2)]
    [InlineData(" v2 ", GemmVersion.V2)]
    public void GemmVersionParses(string text, GemmVersion want) => Assert.Equal(want, IlgpuBackendOptions.ParseGemm(text));

    [Theory]
    [InlineData("")]
    [InlineData("v3")]
    [InlineData("2")]
    public void UnknownGemmVersionIsRejectedByName(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => IlgpuBackendOptions.ParseGemm(text));
        Assert.Contains(IlgpuBackendOptions.GemmVariable, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OptionsChooseTheGemmVersion()
    {
        if (!EmulatorSelected) Assert.Skip("ilgpu-cpu is not among GRPCEXPLAIN_TEST_BACKENDS.");
        using var v1 = IlgpuBackend.CreateCpu(new IlgpuBackendOptions { Gemm = GemmVersion.V1 });
        Assert.Equal(GemmVersion.V1, v1.GemmVersion);
        Assert.Equal(GemmVersion.V2, new IlgpuBackendOptions().Gemm);
    }
}
