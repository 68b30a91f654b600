#!/usr/bin/env python3
"""PyTorch CPU baseline for `native-bench generator`: whole generator forwards on our weights.

Runs a generator in our safetensors format (tools/stylegan2/weights.py) through the operation
sequence of NVIDIA's stylegan2-ada-pytorch on the CPU, where its ops take their reference paths
(upfirdn2d and bias_act in plain PyTorch, fma as addcmul), float32, mapping included, each
modulated convolution both ways NVIDIA has:

- unfused (fused_modconv=False, its training path): x * styles, conv2d (conv_transpose2d then the
  [1,3,3,1] FIR for 2x up), then * dcoefs (+ noise in one addcmul);
- fused (fused_modconv=True, what it uses at inference in float32): per-sample weights scaled by
  styles and dcoefs, the batch folded into the channels, one grouped convolution.

Per path and batch: warm-up calls, then --repeat timed calls, median; rows as GeneratorCommand
writes its own (resolution, batch, backend, ms_per_image, images_per_second, ...) with
implementation "pytorch-unfused" or "pytorch-fused" and backend "torch-cpu".

    /usr/bin/python3 native-bench/torch/generator.py --weights G.safetensors [--batch 1,8] [--repeat 5]
        [--noise-mode const|random|none] [--threads 2] [--json OUT.json] [--check]

--check first compares both paths' images with tools/stylegan2/reference.py's on the same weights
and latents, in every noise mode (max abs diff printed; exit 1 above --tolerance); alone, it only
checks. (Debian's /usr/bin/python3 has torch; a pyenv python3 on PATH may not.)

Time it on a quiet machine only (each row's others_busy says how quiet it was): Debian's PyTorch
runs its 2 threads under libgomp, whose spinning barriers collapse when other processes want the
cores (a 32x32 generator took 1.5 ms per image with 1 thread and 200 ms with 2 on a saturated
2-core machine; OMP_WAIT_POLICY=passive brought it back to 2-6 ms), far more than ours does, so a
busy run's ratios overstate our lead.
"""
import argparse
import json
import math
import os
import platform
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "stylegan2"))
from reference import bias_act, normalize_2nd_moment, setup_filter, upfirdn2d, upsample2d  # noqa: E402
from weights import GeneratorConfig, check_tensors, load_generator, load_safetensors  # noqa: E402

PATHS = {"pytorch-unfused": False, "pytorch-fused": True}


# ----------------------------------------------------------------------------- NVIDIA's sequence


def conv2d_resample(x, w, f, up=1, padding=0, groups=1):
    """torch_utils/ops/conv2d_resample.py for the generator's cases (flip_weight as its layers pass it):
    a plain conv2d, or (up=2) conv_transpose2d of the group-transposed weight, then the FIR filter."""
    if up == 1:
        return F.conv2d(x, w, padding=padding, groups=groups)
    oc, icg, kh, kw = w.shape
    if groups == 1:
        w = w.transpose(0, 1)
    else:
        w = w.reshape(groups, oc // groups, icg, kh, kw).transpose(1, 2).reshape(groups * icg, oc // groups, kh, kw)
    fw = f.shape[-1]
    p0 = padding + (fw + up - 1) // 2 - (kw - 1)
    p1 = padding + (fw - up) // 2 - (kw - up)
    x = F.conv_transpose2d(x, w, stride=up, groups=groups)
    return upfirdn2d(x, f, padding=(p0, p1, p0, p1), gain=up * up)


def modulated_conv2d(x, weight, styles, noise, up, padding, f, demodulate, fused):
    """training/networks.py's modulated_conv2d in float32 (no fp16 pre-normalisation)."""
    n = x.shape[0]
    oc, ic, kh, kw = weight.shape
    w = dcoefs = None
    if demodulate or fused:
        w = weight.unsqueeze(0) * styles.reshape(n, 1, -1, 1, 1)
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
    if demodulate and fused:
        w = w * dcoefs.reshape(n, -1, 1, 1, 1)
    if not fused:
        x = x * styles.reshape(n, -1, 1, 1)
        x = conv2d_resample(x, weight, f, up=up, padding=padding)
        if demodulate and noise is not None:
            return torch.addcmul(noise, x, dcoefs.reshape(n, -1, 1, 1))
        if demodulate:
            return x * dcoefs.reshape(n, -1, 1, 1)
        return x.add_(noise) if noise is not None else x
    x = x.reshape(1, -1, *x.shape[2:])
    x = conv2d_resample(x, w.reshape(-1, ic, kh, kw), f, up=up, padding=padding, groups=n)
    x = x.reshape(n, -1, *x.shape[2:])
    return x.add_(noise) if noise is not None else x


class TorchGenerator:
    """Our weights as plain tensors, run functionally: the parameters are read as NVIDIA's modules
    hold them (weight gains applied at run time, as they are there)."""

    def __init__(self, path):
        self.p, meta = load_safetensors(path)
        self.cfg = GeneratorConfig.from_metadata(meta or {})
        check_tensors(self.cfg, self.p)
        self.f = setup_filter([1, 3, 3, 1])

    def fc(self, x, name, act="linear", lr_mul=1.0):
        w = self.p[f"{name}.weight"] * (lr_mul / math.sqrt(self.p[f"{name}.weight"].shape[1]))
        b = self.p[f"{name}.bias"]
        if lr_mul != 1:
            b = b * lr_mul
        if act == "linear":
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=act)

    def mapping(self, z, c):
        cfg = self.cfg
        x = normalize_2nd_moment(z) if cfg.z_dim > 0 else None
        if cfg.c_dim > 0:
            y = normalize_2nd_moment(self.fc(c, "mapping.embed"))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for i in range(cfg.mapping_layers):
            x = self.fc(x, f"mapping.fc{i}", act="lrelu", lr_mul=0.01)
        return x.unsqueeze(1).repeat([1, cfg.num_ws, 1])

    def layer(self, name, x, w, res, up, noise_mode, fused):
        styles = self.fc(w, f"{name}.affine")
        noise = None
        if noise_mode == "random":
            noise = torch.randn([x.shape[0], 1, res, res], device=x.device) * self.p[f"{name}.noise_strength"]
        elif noise_mode == "const":
            noise = self.p[f"{name}.noise_const"] * self.p[f"{name}.noise_strength"]
        x = modulated_conv2d(x, self.p[f"{name}.weight"], styles, noise, up, 1, self.f, True, fused)
        clamp = self.cfg.conv_clamp
        return bias_act(x, self.p[f"{name}.bias"], act="lrelu", gain=math.sqrt(2), clamp=clamp)

    def torgb(self, name, x, w, fused):
        weight = self.p[f"{name}.weight"]
        styles = self.fc(w, f"{name}.affine") * (1 / math.sqrt(weight.shape[1] * weight.shape[2] * weight.shape[3]))
        x = modulated_conv2d(x, weight, styles, None, 1, 0, self.f, False, fused)
        return bias_act(x, self.p[f"{name}.bias"], clamp=self.cfg.conv_clamp)

    def synthesis(self, ws, noise_mode, fused):
        x = img = None
        w_idx = 0
        for res in self.cfg.block_resolutions:
            b = f"synthesis.b{res}"
            num_conv = 1 if res == 4 else 2
            w_iter = iter(ws.narrow(1, w_idx, num_conv + 1).unbind(dim=1))
            if res == 4:
                x = self.p[f"{b}.const"].unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            else:
                x = self.layer(f"{b}.conv0", x, next(w_iter), res, 2, noise_mode, fused)
            x = self.layer(f"{b}.conv1", x, next(w_iter), res, 1, noise_mode, fused)
            if img is not None:
                img = upsample2d(img, self.f)
            y = self.torgb(f"{b}.torgb", x, next(w_iter), fused)
            img = img.add_(y) if img is not None else y
            w_idx += num_conv
        return img

    def to(self, device):
        """Moves the weights and the filter to a device (after the CPU check against the reference)."""
        self.p = {k: v.to(device) for k, v in self.p.items()}
        self.f = self.f.to(device)
        return self

    def __call__(self, z, c, noise_mode, fused):
        return self.synthesis(self.mapping(z, c), noise_mode, fused)

    def latents(self, batch, seed):
        g = torch.Generator().manual_seed(seed)
        z = torch.randn([batch, self.cfg.z_dim], generator=g)
        c = None
        if self.cfg.c_dim > 0:
            c = torch.zeros([batch, self.cfg.c_dim])
            c[:, 0] = 1
        return z, c


# ----------------------------------------------------------------------------- check and timing


def check(G, path, batch, tolerance):
    """Both paths against tools/stylegan2/reference.py, same latents, every noise mode (random: same seed)."""
    ref, _ = load_generator(path)
    z, c = G.latents(batch, seed=123)
    worst = 0.0
    for mode in ("const", "none", "random"):
        torch.manual_seed(7)
        expected = ref(z, c, noise_mode=mode)
        for impl, fused in PATHS.items():
            torch.manual_seed(7)
            diff = (G(z, c, mode, fused) - expected).abs().max().item()
            worst = max(worst, diff)
            print(f"check {impl:16s} noise {mode:6s} batch {batch}: max abs diff {diff:.3g} "
                  f"(reference images max |x| {expected.abs().max().item():.3g})", flush=True)
    ok = worst <= tolerance
    print(f"check: {'ok' if ok else 'FAILED'}, worst {worst:.3g} (tolerance {tolerance:g})", flush=True)
    return ok


def time_calls(call, repeat, warmup):
    """Warm-up calls (one when a call takes over 2 s), then the timed calls (at most 3 then): the
    median (the upper one of an even count) and minimum, as GeneratorCommand.TimeCalls does for ours."""
    for i in range(warmup):
        start = time.perf_counter()
        call()
        if time.perf_counter() - start > 2:
            repeat = min(repeat, 3)
            break
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2], times[0], len(times)


class QuietMeter:
    """The share of the cores' time other processes took since it started: /proc/stat's busy time less
    this process's own, less two ticks of jitter (as native-bench's QuietMeter); None off Linux."""

    def __init__(self):
        self.start = self.sample()

    @staticmethod
    def sample():
        try:
            with open("/proc/stat") as fh:
                cpu = [int(v) for v in fh.readline().split()[1:9]]
        except OSError:
            return None
        t = os.times()
        return sum(cpu), sum(cpu) - cpu[3] - cpu[4], (t.user + t.system) * os.sysconf("SC_CLK_TCK")

    def others_busy(self):
        end = self.sample()
        if self.start is None or end is None or end[0] <= self.start[0]:
            return None
        return max(0.0, (end[1] - self.start[1] - (end[2] - self.start[2]) - 2) / (end[0] - self.start[0]))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", required=True)
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--noise-mode", default="const", choices=["const", "random", "none"])
    ap.add_argument("--paths", default=",".join(PATHS), help="comma-separated: pytorch-unfused,pytorch-fused")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                    help="cuda: time on the GPU (TF32 off; each timed call ends with the images copied to the host, as ours do)")
    ap.add_argument("--json")
    ap.add_argument("--check", action="store_true", help="compare with tools/stylegan2/reference.py first (alone: only that)")
    ap.add_argument("--check-batch", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)
    G = TorchGenerator(args.weights)
    cfg = G.cfg
    with torch.inference_mode():
        if args.check and not check(G, args.weights, args.check_batch, args.tolerance):
            return 1
        if args.check and args.json is None:
            return 0
        device = torch.device(args.device)
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cudnn.benchmark = True
            G.to(device)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads ({torch.get_num_interop_threads()} inter-op), "
              f"oneDNN {torch.backends.mkldnn.is_available()}: {cfg.img_resolution}x{cfg.img_resolution}x{cfg.img_channels}, "
              f"noise {args.noise_mode}", flush=True)
        rows = []
        for impl in args.paths.split(","):
            fused = PATHS[impl]
            for n in [int(v) for v in args.batch.split(",")]:
                z, c = G.latents(n, seed=n)
                z, c = z.to(device), (c.to(device) if c is not None else None)
                meter = QuietMeter()
                med, low, count = time_calls(lambda: G(z, c, args.noise_mode, fused).cpu(), args.repeat, args.warmup)
                others = meter.others_busy()
                rows.append({
                    "implementation": impl, "resolution": cfg.img_resolution, "channels": cfg.img_channels,
                    "channel_base": cfg.channel_base, "channel_max": cfg.channel_max, "w_dim": cfg.w_dim,
                    "batch": n, "backend": f"torch-{device.type}",
                    "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"{cpu_model()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads",
                    "noise_mode": args.noise_mode,
                    "ms_per_image": round(med / n, 3), "images_per_second": round(1000 * n / med, 2),
                    "median_ms": round(med, 3), "min_ms": round(low, 3), "repeat": count,
                    "torch_version": torch.__version__, "threads": torch.get_num_threads(),
                })
                if others is not None:
                    rows[-1]["others_busy"] = round(others, 3)
                busy = "n/a" if others is None else f"{others * 100:.0f}%"
                print(f"{impl:16s} batch {n}: {med / n:9.2f} ms per image, {1000 * n / med:8.1f} images/s "
                      f"(median of {count}, min {low / n:.2f} ms per image; others {busy} busy)", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
