#!/usr/bin/env python3
"""Converts a rosinality/stylegan2-pytorch checkpoint to our safetensors weights (NVIDIA's names).

    /usr/bin/python3 tools/convert/rosinality.py 550000.pt generator.safetensors [--key g_ema]

rosinality's Generator computes what NVIDIA's config-F generator computes; only names, layouts and
where a few constants are applied differ. What maps to what (L = conv1 at 4x4, convs.{2i} and
convs.{2i+1} the two convs of resolution 2^(i+3), to_rgb1 / to_rgbs.{i} the ToRGB layers):

  style.{j}.weight [w, in] / .bias     mapping.fc{j-1}.weight / .bias   (PixelNorm = normalize_2nd_moment;
                                       EqualLinear with lr_mul 0.01 and fused_lrelu = FullyConnectedLayer
                                       with lr_multiplier 0.01 and lrelu; both store weight / lr_mul)
  latent_avg (when the file has it)    mapping.w_avg; otherwise the mean of the mapping over
                                       --w-avg-samples seeded z (rosinality computes it at run time)
  input.input [1, C, 4, 4]             synthesis.b4.const [C, 4, 4]
  <L>.conv.weight [1, O, I, 3, 3]      synthesis.bR.convK.weight [O, I, 3, 3] x 1/sqrt(I*9)
  <L>.conv.modulation.weight / .bias   synthesis.bR.convK.affine.weight / .bias
  <L>.noise.weight [1]                 synthesis.bR.convK.noise_strength []
  <L>.activate.bias [O]                synthesis.bR.convK.bias [O]
  noises.noise_{n} [1, 1, R, R]        synthesis.bR.convK.noise_const [R, R]  (n = 0: b4.conv1; 2i+1, 2i+2:
                                       conv0 and conv1 of resolution 2^(i+3))
  <rgb>.conv.weight [1, C, I, 1, 1]    synthesis.bR.torgb.weight [C, I, 1, 1]  (unscaled)
  <rgb>.conv.modulation.* / .bias      synthesis.bR.torgb.affine.* / .bias [C]
  *.blur.kernel, *.upsample.kernel     checked to be [1,3,3,1]x[1,3,3,1]/64 x 4, then dropped (NVIDIA's
                                       resample_filter without the gain of 4, which upfirdn2d adds)

Numerical conventions:
- rosinality stores modulated-conv weights unscaled and multiplies by 1/sqrt(fan_in) at run time.
  NVIDIA's 3x3 layers apply no such gain, because demodulation divides it out, except inside the
  1e-8 of rsqrt(sum(w^2) + 1e-8): storing weight / sqrt(fan_in) makes NVIDIA's arithmetic the same
  as rosinality's, epsilon included.
- ToRGB is not demodulated, so the gain matters: rosinality multiplies the weight by 1/sqrt(in);
  NVIDIA multiplies the styles by weight_gain = 1/sqrt(in). Same product; the weight is stored as is.
- The affine (modulation) layers are EqualLinear(bias_init=1, lr_mul=1) on both sides: copied.
- Noise: rosinality adds weight * noise after demodulation and before the bias and leaky ReLU, as
  NVIDIA adds noise_const * noise_strength; randomize_noise=False is NVIDIA's noise_mode='const'.
- The 2x upsampling convolution: rosinality's conv_transpose2d(weight.transpose), stride 2, then
  Blur pad (1, 1) with kernel x 4; NVIDIA: the same transposed convolution (no flip) then upfirdn2d
  padding 1, gain 4. The skip upsampling: Upsample = upfirdn2d(up 2, pad (2, 1)), kernel x 4, as
  NVIDIA's upsample2d. The grouped (fused) and unfused paths compute the same.
- The channel table {4..32: 512, 64: 256 m, 128: 128 m, ...} is min(16384 m / res, 512) for channel
  multipliers m = 1 and 2 (m = 2: NVIDIA's 32768/512). Other tables are read off the shapes and
  refused when no channel_base/channel_max gives them.
- rosinality has no class conditioning and no clamping: c_dim 0, conv_clamp None.
"""
import argparse
import math
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "stylegan2"))
from weights import GeneratorConfig, save_generator, standard_resample_filter  # noqa: E402
from nvidia_pickle import ConversionError, infer_channels  # noqa: E402


def _fail(msg):
    raise ConversionError(msg)


def load_checkpoint(path, key="g_ema"):
    """The generator's state dict (and latent_avg when stored) from a checkpoint of train.py or
    convert_weight.py, or from a bare state dict."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # PyTorch before 1.13
        ckpt = torch.load(path, map_location="cpu")
    if not isinstance(ckpt, dict):
        _fail(f"expected a dict (a train.py checkpoint or a state dict), found {type(ckpt).__name__}")
    if "style.1.weight" in ckpt or any(k.endswith("style.1.weight") for k in ckpt):
        state, latent_avg = ckpt, None
    elif key in ckpt:
        state, latent_avg = ckpt[key], ckpt.get("latent_avg")
    else:
        _fail(f"no '{key}' in the checkpoint; it holds {', '.join(map(str, ckpt.keys()))} (choose one with --key)")
    prefixes = {k.split(".", 1)[0] for k in state}
    if prefixes == {"module"}:  # saved from a DistributedDataParallel wrapper
        state = {k.split(".", 1)[1]: v for k, v in state.items()}
    return dict(state), latent_avg


def convert_state(state, latent_avg=None, lr_mlp=0.01, w_avg_samples=100_000, seed=0):
    """(GeneratorConfig, tensors by NVIDIA name, notes)."""
    s = {k: v.detach().to(torch.float32) for k, v in state.items()}
    used, out, notes = set(), {}, []

    def take(name):
        if name not in s:
            _fail(f"missing '{name}' (is this a rosinality/stylegan2-pytorch Generator?)")
        used.add(name)
        return s[name]

    # Mapping: style.0 is PixelNorm, style.1 .. style.n_mlp the EqualLinear layers.
    n_mlp = len([k for k in s if re.fullmatch(r"style\.\d+\.weight", k)])
    if n_mlp == 0:
        _fail("no mapping layers 'style.N.weight' (is this a rosinality/stylegan2-pytorch Generator state dict?)")
    fold = lr_mlp / 0.01  # our format stores weight / 0.01, as NVIDIA's lr_multiplier=0.01 does
    for j in range(1, n_mlp + 1):
        out[f"mapping.fc{j - 1}.weight"] = take(f"style.{j}.weight") * fold
        out[f"mapping.fc{j - 1}.bias"] = take(f"style.{j}.bias") * fold
    if fold != 1:
        notes.append(f"mapping weights and biases multiplied by {fold:g} for lr_mlp {lr_mlp:g} (our format: 0.01)")
    style_dim = out["mapping.fc0.weight"].shape[0]
    z_dim = out["mapping.fc0.weight"].shape[1]

    n_rgbs = len([k for k in s if re.fullmatch(r"to_rgbs\.\d+\.conv\.weight", k)])
    log_size = n_rgbs + 2
    res = 2 ** log_size
    out["synthesis.b4.const"] = take("input.input")[0]
    img_channels = take("to_rgb1.conv.weight").shape[1]
    up_kernel = standard_resample_filter() * 4

    def styled_conv(src, dst, noise_name, r, upsample):
        w = take(f"{src}.conv.weight")[0]
        out[f"{dst}.weight"] = w / math.sqrt(w.shape[1] * w.shape[2] * w.shape[3])
        out[f"{dst}.affine.weight"] = take(f"{src}.conv.modulation.weight")
        out[f"{dst}.affine.bias"] = take(f"{src}.conv.modulation.bias")
        out[f"{dst}.noise_strength"] = take(f"{src}.noise.weight").reshape([])
        out[f"{dst}.bias"] = take(f"{src}.activate.bias")
        if noise_name in s:
            out[f"{dst}.noise_const"] = take(noise_name).reshape(r, r)
        if upsample:
            check_kernel(f"{src}.conv.blur.kernel")

    def to_rgb(src, dst, upsample):
        out[f"{dst}.weight"] = take(f"{src}.conv.weight")[0]
        out[f"{dst}.affine.weight"] = take(f"{src}.conv.modulation.weight")
        out[f"{dst}.affine.bias"] = take(f"{src}.conv.modulation.bias")
        out[f"{dst}.bias"] = take(f"{src}.bias").reshape(-1)
        if upsample:
            check_kernel(f"{src}.upsample.kernel")

    def check_kernel(name):
        k = take(name)
        if k.shape != (4, 4) or not torch.allclose(k, up_kernel):
            _fail(f"'{name}' is not the [1,3,3,1] blur kernel (x4); other blur kernels are not supported")

    styled_conv("conv1", "synthesis.b4.conv1", "noises.noise_0", 4, False)
    to_rgb("to_rgb1", "synthesis.b4.torgb", False)
    for i in range(log_size - 2):
        r = 2 ** (i + 3)
        styled_conv(f"convs.{2 * i}", f"synthesis.b{r}.conv0", f"noises.noise_{2 * i + 1}", r, True)
        styled_conv(f"convs.{2 * i + 1}", f"synthesis.b{r}.conv1", f"noises.noise_{2 * i + 2}", r, False)
        to_rgb(f"to_rgbs.{i}", f"synthesis.b{r}.torgb", True)
    missing_noise = [k for k in (f"synthesis.b4.conv1.noise_const",) + tuple(
        f"synthesis.b{2 ** (i + 3)}.conv{c}.noise_const" for i in range(log_size - 2) for c in (0, 1)) if k not in out]
    if missing_noise:
        gen = torch.Generator().manual_seed(seed)
        for k in missing_noise:
            r = int(k.split(".")[1][1:])
            out[k] = torch.randn([r, r], generator=gen)
        notes.append(f"the checkpoint stores no noise maps (noises.noise_N); noise_const drawn from a normal with seed {seed}")

    unused = sorted(set(s) - used)
    if unused:
        _fail("tensors a rosinality StyleGAN2 generator does not have: " + ", ".join(unused[:8]) + (" ..." if len(unused) > 8 else ""))

    channels = {4: out["synthesis.b4.conv1.weight"].shape[0]}
    channels.update({2 ** (i + 3): out[f"synthesis.b{2 ** (i + 3)}.conv1.weight"].shape[0] for i in range(log_size - 2)})
    base, cmax = infer_channels(channels, None, None)
    cfg = GeneratorConfig(z_dim, 0, style_dim, res, img_channels, n_mlp, base, cmax, None, "skip")
    cfg.validate()

    if latent_avg is not None:
        la = latent_avg.detach().to(torch.float32).reshape(-1, style_dim)
        out["mapping.w_avg"] = la[0] if la.shape[0] == 1 else la.mean(0)
        notes.append("w_avg from the checkpoint's latent_avg")
    else:
        out["mapping.w_avg"] = mapping_mean(cfg, out, w_avg_samples, seed)
        notes.append(f"w_avg = mean of the mapping over {w_avg_samples} z drawn with seed {seed} (the checkpoint has no latent_avg)")
    return cfg, out, notes


def mapping_mean(cfg, tensors, samples, seed):
    """What rosinality's mean_latent computes at run time (and NVIDIA's w_avg tracks in training)."""
    from reference import MappingNetwork
    m = MappingNetwork(cfg.z_dim, 0, cfg.w_dim, num_ws=1, num_layers=cfg.mapping_layers)
    m.load_state_dict({k[len("mapping."):]: v for k, v in tensors.items() if k.startswith("mapping.")} | {"w_avg": torch.zeros(cfg.w_dim)})
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros(cfg.w_dim, dtype=torch.float64)
    with torch.no_grad():
        for start in range(0, samples, 10_000):
            n = min(10_000, samples - start)
            total += m(torch.randn([n, cfg.z_dim], generator=gen))[:, 0].double().sum(0)
    return (total / samples).float()


def convert(src, dst, key="g_ema", lr_mlp=0.01, w_avg_samples=100_000, seed=0):
    state, latent_avg = load_checkpoint(src, key)
    cfg, tensors, notes = convert_state(state, latent_avg, lr_mlp, w_avg_samples, seed)
    save_generator(dst, cfg, tensors, extra_metadata={
        "converted_from": f"rosinality/stylegan2-pytorch checkpoint {os.path.basename(src)} ({key})",
        "converter": "tools/convert/rosinality.py"})
    return cfg, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="a train.py checkpoint (*.pt), a convert_weight.py output, or a bare generator state dict")
    ap.add_argument("output", help="the safetensors file to write")
    ap.add_argument("--key", default="g_ema", help="which generator of the checkpoint (default g_ema)")
    ap.add_argument("--lr-mlp", type=float, default=0.01, help="the Generator's lr_mlp when it was not the default 0.01")
    ap.add_argument("--w-avg-samples", type=int, default=100_000, help="z samples for w_avg when the file has no latent_avg")
    ap.add_argument("--seed", type=int, default=0, help="seed for those samples (and for noise maps, if the file has none)")
    args = ap.parse_args()
    try:
        cfg, notes = convert(args.checkpoint, args.output, args.key, args.lr_mlp, args.w_avg_samples, args.seed)
    except ConversionError as e:
        print(f"error: {args.checkpoint}: {e}", file=sys.stderr)
        sys.exit(2)
    for n in notes:
        print(f"note: {n}")
    print(f"wrote {args.output}: {cfg.img_resolution}x{cfg.img_resolution}x{cfg.img_channels}, z_dim = w_dim = {cfg.w_dim}, "
          f"{cfg.mapping_layers} mapping layers, channel_base {cfg.channel_base}, channel_max {cfg.channel_max}")


if __name__ == "__main__":
    main()
