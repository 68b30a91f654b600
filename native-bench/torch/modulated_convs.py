#!/usr/bin/env python3
"""PyTorch baseline for the GPU rows of native-bench: StyleGAN2's modulated convolutions on CUDA.

Times the same layer shapes as `native-bench kernels` (configurations 64x64 4096/256, 128x128
8192/256, 256x256 16384/512; batch 1 and 8): modulated 3x3 at the same resolution, modulated 3x3
with 2x upsampling, and ToRGB, each as stylegan2-ada-pytorch computes it unfused (x*s, cuDNN
convolution, *d; conv_transpose2d then the 4x4 FIR for Up), in float32 with TF32 off so it does the
same arithmetic as our kernels. Backward is the autograd pass for x, weight and styles from a given
dy. Rows use native-bench's op and shape names with backend "torch-cuda".

    python3 native-bench/torch/modulated_convs.py --json OUT.json [--configs 64,128,256] [--batch 1,8]
"""
import argparse
import json

import torch
import torch.nn.functional as F

CONFIGS = {64: (4096, 256), 128: (8192, 256), 256: (16384, 512)}


def fir(x):
    f = torch.tensor([1.0, 3.0, 3.0, 1.0], device=x.device)
    f = torch.outer(f, f)
    f = (f / f.sum() * 4).flip([0, 1])[None, None].repeat(x.shape[1], 1, 1, 1)
    return F.conv2d(F.pad(x, [1, 1, 1, 1]), f, groups=x.shape[1])


def modulated_conv(x, w, s, up, demodulate):
    n = x.shape[0]
    d = None
    if demodulate:
        d = ((w[None] * s[:, None, :, None, None]).square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
    x = x * s[:, :, None, None]
    if up:
        x = fir(F.conv_transpose2d(x, w.transpose(0, 1), stride=2))
    else:
        x = F.conv2d(x, w, padding=w.shape[2] // 2)
    return x * d[:, :, None, None] if demodulate else x


def layers(res, n):
    base, cmax = CONFIGS[res]
    ch = lambda r: min(base // r, cmax)
    r = 4
    while r <= res:
        if r > 4:
            yield "modulated_conv3x3_up", n, ch(r // 2), ch(r), r // 2, True, 3, True
        yield "modulated_conv3x3", n, ch(r), ch(r), r, False, 3, True
        yield "torgb", n, ch(r), 3, r, False, 1, False
        r *= 2


def median_ms(fn, repeat=20):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--configs", default="64,128,256")
    ap.add_argument("--batch", default="1,8")
    args = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda")
    rows, seen = [], set()
    for res in [int(v) for v in args.configs.split(",")]:
        for n in [int(v) for v in args.batch.split(",")]:
            for op, n_, i, o, h, up, k, demod in layers(res, n):
                key = (op, n_, i, o, h)
                if key in seen:
                    continue
                seen.add(key)
                x = torch.randn(n_, i, h, h, device=dev, requires_grad=True)
                w = torch.randn(o, i, k, k, device=dev, requires_grad=True)
                s = (torch.randn(n_, i, device=dev) + 1).requires_grad_(True)
                with torch.no_grad():
                    fwd = median_ms(lambda: modulated_conv(x, w, s, up, demod))
                y = modulated_conv(x, w, s, up, demod)
                dy = torch.randn_like(y)
                bwd = median_ms(lambda: torch.autograd.grad(y, [x, w, s], dy, retain_graph=True))
                shape = f"N{n_}_I{i}_O{o}_H{h}_W{h}"
                for direction, ms in (("forward", fwd), ("backward", bwd)):
                    rows.append({"op": op, "shape": shape, "backend": "torch-cuda", "direction": direction,
                                 "batch": n_, "config": [f"{res}x{res}"], "ms": ms, "device": torch.cuda.get_device_name(0),
                                 "torch": torch.__version__})
                print(f"{op:22s} {shape:24s} fwd {fwd:8.3f} ms  bwd {bwd:8.3f} ms", flush=True)
    with open(args.json, "w") as fh:
        json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
