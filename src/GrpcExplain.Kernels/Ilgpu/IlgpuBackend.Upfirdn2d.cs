using ILGPU;
using ILGPU.Runtime;
using Floats = ILGPU.Runtime.ArrayView1D<float, ILGPU.Stride1D.Dense>;

namespace GrpcExplain.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    internal struct Upfirdn2dArgs
    {
        public Floats X, Y, Taps;
        public int H, W, OutH, OutW, Up, Down, PadX0, PadY0, FilterH, FilterW, Flip;
        public float Gain;
    }

    private Action<Index1D, Upfirdn2dArgs>? _upfirdn2d;

    // Filter taps live on the device once per distinct filter, keyed by content (the ops build
    // new FirFilter objects freely), so a call never waits on an upload after the first.
    private readonly Dictionary<string, MemoryBuffer1D<float, Stride1D.Dense>> _filters = [];

    protected override void Upfirdn2dForwardCore(Tensor x, Tensor y, Upfirdn2dParams p) => Upfirdn2d(x, y, p, flip: false);

    // The adjoint is upfirdn2d with up and down swapped, other pads and the filter flipped; the
    // flip is done by the kernel's tap indexing so the original filter's device copy serves both.
    protected override void Upfirdn2dBackwardCore(Tensor dy, Tensor dx, Upfirdn2dParams p)
    {
        var (_, _, h, w) = dx.Shape.Nchw;
        Upfirdn2d(dy, dx, p.Adjoint(h, w) with { Filter = p.Filter }, flip: true);
    }

    private void Upfirdn2d(Tensor x, Tensor y, Upfirdn2dParams p, bool flip)
    {
        var (_, _, h, w) = x.Shape.Nchw;
        var (_, _, oh, ow) = y.Shape.Nchw;
        _upfirdn2d ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, Upfirdn2dArgs>(Upfirdn2dKernel);
        _upfirdn2d(y.Length, new Upfirdn2dArgs
        {
            X = V(x), Y = V(y), Taps = DeviceTaps(p.Filter),
            H = h, W = w, OutH = oh, OutW = ow, Up = p.Up, Down = p.Down, PadX0 = p.PadX0, PadY0 = p.PadY0,
            FilterH = p.Filter.Height, FilterW = p.Filter.Width, Flip = Flag(flip), Gain = p.Gain,
        });
    }

    private Floats DeviceTaps(FirFilter f)
    {
        string key = $"{f.Height}x{f.Width}:{string.Join(",", f.Taps.Select(BitConverter.SingleToInt32Bits))}";
        if (!_filters.TryGetValue(key, out var buffer))
        {
            buffer = _accelerator.Allocate1D(f.Taps);
            _filters.Add(key, buffer);
        }
        return buffer.View;
    }

    private void DisposeFilters()
    {
        foreach (var b in _filters.Values) b.Dispose();
        _filters.Clear();
    }

    /// <summary>
    /// One thread per output pixel. upfirdn2d convolves (flips) the filter, so the tap at (ty, tx)
    /// of the window is f[fh−1−ty, fw−1−tx]; the adjoint's flipped filter makes that f[ty, tx].
    /// Only window positions on the zero-inserted grid (multiples of up) hold input pixels.
    /// </summary>
    private static void Upfirdn2dKernel(Index1D j, Upfirdn2dArgs a)
    {
        int plane = j / (a.OutH * a.OutW), pix = j - plane * a.OutH * a.OutW;
        int oy = pix / a.OutW, ox = pix - oy * a.OutW;
        int src = plane * a.H * a.W, taps = a.FilterH * a.FilterW;
        float acc = 0;
        for (int ty = 0; ty < a.FilterH; ty++)
        {
            int uy = oy * a.Down + ty - a.PadY0;
            if (uy < 0 || uy >= a.H * a.Up || uy % a.Up != 0) continue;
            int row = src + uy / a.Up * a.W;
            for (int tx = 0; tx < a.FilterW; tx++)
            {
                int ux = ox * a.Down + tx - a.PadX0;
                if (ux < 0 || ux >= a.W * a.Up || ux % a.Up != 0) continue;
                int t = ty * a.FilterW + tx;
                acc += a.X[row + ux / a.Up] * a.Taps[a.Flip != 0 ? t : taps - 1 - t];
            }
        }
        a.Y[j] = acc * a.Gain;
    }
}
