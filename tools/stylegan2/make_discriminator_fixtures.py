#!/usr/bin/env python3
"""Discriminator fixture from PyTorch, for the C# StyleGAN2 discriminator's faithfulness tests.

A small 'resnet' discriminator (tools/stylegan2/discriminator_reference.py, NVIDIA's
stylegan2-ada-pytorch Discriminator) with random weights (every bias random, so a dropped term
shows) and a batch of images: discriminator32 (grey, a conv_clamp that some activations reach, 8
images in two minibatch-stddev groups of 4) and discriminator16 (RGB, no clamp, 6 images in three
groups of 2, two stddev features). Each stores:

- logits: the float32 forward, and logits64 in float64;
- d_img and d.<param>: float64 autograd gradients of L = sum(logits * r) for a fixed random r;
- r1_penalty [N] = |grad_img sum(logits)|^2 per sample, and r1.<param> = grad_theta of
  R = 1/2 sum_n r1_penalty[n], by double backward (torch.autograd.grad(create_graph=True)) in float64:
  the exact value the C# finite-difference Hessian-vector product is checked against;
- in cases.json, the error of that finite-difference estimate computed here in float32 and float64
  for several step sizes (the justification of the step the C# side uses).

Run once with Debian's python3-torch:
    /usr/bin/python3 tools/stylegan2/make_discriminator_fixtures.py
It writes tests/GrpcExplain.StyleGan.Tests/Fixtures/<name>/{discriminator.safetensors,
cases.safetensors, cases.json} (small; committed).
"""
import copy
import json
import math
import os
import sys
from dataclasses import dataclass

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from discriminator_reference import Discriminator  # noqa: E402
from weights import load_safetensors, save_safetensors  # noqa: E402

OUT_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "GrpcExplain.StyleGan.Tests", "Fixtures")


@dataclass(frozen=True)
class DiscriminatorConfig:
    """DiscriminatorConfig.cs's fields and defaults (NVIDIA's names); its metadata as ToMetadata writes it."""
    img_resolution: int
    img_channels: int
    c_dim: int = 0
    channel_base: int = 32768
    channel_max: int = 512
    conv_clamp: float = None
    architecture: str = "resnet"
    mbstd_group_size: int = 4
    mbstd_num_channels: int = 1

    def to_metadata(self):
        clamp = "None"
        if self.conv_clamp is not None:
            c = float(self.conv_clamp)
            clamp = str(int(c)) if c.is_integer() else repr(c)
        return {"network": "discriminator", "c_dim": str(self.c_dim), "img_resolution": str(self.img_resolution),
                "img_channels": str(self.img_channels), "channel_base": str(self.channel_base),
                "channel_max": str(self.channel_max), "conv_clamp": clamp, "architecture": self.architecture,
                "mbstd_group_size": str(self.mbstd_group_size), "mbstd_num_channels": str(self.mbstd_num_channels)}


FIXTURES = [
    # 32x32 grey; channels 4 (b32), 8 (b16), 16 (b8 and b4); a clamp that a few activations reach.
    ("discriminator32", DiscriminatorConfig(img_resolution=32, img_channels=1, channel_base=128, channel_max=16, conv_clamp=2.5), 8, 11),
    # 16x16 RGB; channels 4 (b16), 8 (b8 and b4); mbstd over groups of 2 with 2 features (4 channels each).
    ("discriminator16", DiscriminatorConfig(img_resolution=16, img_channels=3, channel_base=64, channel_max=8, conv_clamp=None,
                                            mbstd_group_size=2, mbstd_num_channels=2), 6, 12),
]


def random_weights(D, gen):
    state = {}
    for name, t in D.state_dict().items():
        if name.endswith("resample_filter"):
            state[name] = t
        elif name.endswith(".bias"):
            state[name] = torch.randn(list(t.shape), generator=gen) * 0.2
        else:                                   # NVIDIA initialises every weight as randn (lr_multiplier 1)
            state[name] = torch.randn(list(t.shape), generator=gen)
    return state


def input_gradient(D, img, create_graph):
    img = img.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(D(img).sum(), img, create_graph=create_graph)
    return g


def param_gradient(D, img, weights=None):
    logits = D(img)[:, 0]
    L = logits.sum() if weights is None else (logits * weights).sum()
    return torch.autograd.grad(L, list(D.parameters()))


def fd_hvp(D, img, rel):
    """grad_theta 1/2 |grad_x sum D|^2 by central differences of grad_theta sum D along g = grad_x sum D,
    with eps = rel * |x| / |g| (as the C# R1 regulariser)."""
    g = input_gradient(D, img, False)
    eps = rel * img.norm() / g.norm()
    plus = param_gradient(D, img + eps * g)
    minus = param_gradient(D, img - eps * g)
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def max_rel_error(approx, exact):
    scale = max(float(e.abs().max()) for e in exact)
    return max(float((a.double() - e).abs().max()) for a, e in zip(approx, exact)) / scale


def make(name, cfg, N, seed):
    out_dir = os.path.join(OUT_ROOT, name)
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    D = Discriminator.from_config(cfg).eval()
    D.load_state_dict(random_weights(D, gen))
    # Everything but the FIR buffers, as DiscriminatorConfig.ParameterShapes() lists them, then the buffers.
    sd = D.state_dict()
    names = [n for n, _ in D.named_parameters()]
    tensors = {n: sd[n] for n in names} | {n: t for n, t in sd.items() if n.endswith("resample_filter")}
    weights_path = os.path.join(out_dir, "discriminator.safetensors")
    save_safetensors(weights_path, tensors, cfg.to_metadata())
    loaded, _ = load_safetensors(weights_path)
    D.load_state_dict({k: loaded[k] for k in sd})
    D64 = copy.deepcopy(D).double()

    img = (torch.rand([N, cfg.img_channels, cfg.img_resolution, cfg.img_resolution], generator=gen) * 2 - 1)
    r = torch.randn([N], generator=gen)
    t = {"inputs.img": img, "inputs.r": r}
    with torch.no_grad():
        t["logits"] = D(img)[:, 0]
        t["logits64"] = D64(img.double())[:, 0]

    # First order: L = sum(logits * r).
    x = img.double().requires_grad_(True)
    logits = D64(x)[:, 0]
    grads = torch.autograd.grad((logits * r.double()).sum(), [x] + list(D64.parameters()))
    t["d_img"] = grads[0]
    for n, g in zip(names, grads[1:]):
        t[f"d.{n}"] = g

    # R1 by double backward: g = grad_x sum D (create_graph), R = 1/2 sum g^2, grad_theta R.
    x = img.double().requires_grad_(True)
    (g,) = torch.autograd.grad(D64(x).sum(), x, create_graph=True)
    penalty = g.square().sum(dim=[1, 2, 3])
    params = list(D64.parameters())
    # b4.out.bias does not reach grad_x D: its R1 gradient is zero (autograd reports it unused).
    r1 = torch.autograd.grad(0.5 * penalty.sum(), params, allow_unused=True)
    r1 = [torch.zeros_like(p) if v is None else v for p, v in zip(params, r1)]
    t["r1_penalty"] = penalty.detach()
    t["r1_grad_img"] = g.detach()
    for n, v in zip(names, r1):
        t[f"r1.{n}"] = v

    # Finite-difference estimates against that exact value, in float32 and float64.
    fd_errors = {}
    for rel in [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 1e-3, 1e-2]:
        fd_errors[f"{rel:g}"] = {"float32": max_rel_error(fd_hvp(D, img, rel), r1),
                                 "float64": max_rel_error(fd_hvp(D64, img.double(), rel), r1)}

    # How many activations sit at the clamp (the fixture should reach it).
    clamped, total = 0, 0

    def count(_m, _i, out):
        nonlocal clamped, total
        clamped += int((out.abs() >= cfg.conv_clamp * math.sqrt(0.5) - 1e-6).sum()) if cfg.conv_clamp else 0
        total += out.numel()
    hooks = [m.register_forward_hook(count) for n_, m in D.named_modules() if n_.endswith(("conv0", "conv1", "fromrgb", "b4.conv"))]
    with torch.no_grad():
        D(img)
    for h in hooks:
        h.remove()

    save_safetensors(os.path.join(out_dir, "cases.safetensors"), {k: v.float() for k, v in t.items()})
    doc = {
        "generator_script": "tools/stylegan2/make_discriminator_fixtures.py",
        "reference": "tools/stylegan2/discriminator_reference.py (NVIDIA stylegan2-ada-pytorch Discriminator, 'resnet')",
        "torch": torch.__version__,
        "weights": "discriminator.safetensors",
        "tensors": "cases.safetensors",
        "config": cfg.to_metadata(),
        "batch": N,
        "parameters": names,
        "fd_hvp_relative_error_by_step": fd_errors,
        "notes": [
            "All tensors are stored as F32; logits is the float32 forward, everything else float64 rounded to float32.",
            "d_img and d.<param>: gradients of L = sum(logits * inputs.r) (logits = D(img)[:, 0]).",
            "r1_grad_img = grad_img sum(logits) (mbstd couples the samples of a group); r1_penalty[n] = sum of its squares over sample n.",
            "r1.<param> = grad_param of 1/2 sum_n r1_penalty[n], by double backward in float64.",
            "fd_hvp_relative_error_by_step: max |FD - exact| / max |exact| over all parameters, for "
            "FD = (grad_theta sum D(x + eps g) - grad_theta sum D(x - eps g)) / (2 eps), eps = step * |x| / |g|.",
            f"activations at or above 0.7071 * conv_clamp in the clamped layers: {clamped} of {total}.",
        ],
    }
    with open(os.path.join(out_dir, "cases.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
    print(f"{name}: logits {t['logits'].tolist()}")
    print(f"  float64 vs float32 logits {float((t['logits64'] - t['logits'].double()).abs().max()):.2e}; "
          f"clamped {clamped}/{total}; |r1 penalty| {penalty.tolist()}")
    for rel, e in fd_errors.items():
        print(f"  FD-HVP step {rel}: float32 {e['float32']:.2e}, float64 {e['float64']:.2e}")


def main():
    for name, cfg, n, seed in FIXTURES:
        make(name, cfg, n, seed)


if __name__ == "__main__":
    main()
