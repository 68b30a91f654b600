#!/usr/bin/env python3
"""Checks the committed fixtures against NVIDIA's own generator code, where a checkout is at hand.

    /usr/bin/python3 tools/stylegan2/check_against_nvidia.py --nvidia-src ~/src/stylegan2-ada-pytorch
    /usr/bin/python3 tools/stylegan2/check_against_nvidia.py --nvidia-src ~/src/stylegan3

Builds NVIDIA's Generator (training/networks.py of stylegan2-ada-pytorch, or
training/networks_stylegan2.py of stylegan3) for each fixture's configuration, loads the fixture's
generator.safetensors into it, and compares every case of cases.json: forward cases with both of
NVIDIA's modulated-convolution paths (fused and unfused, force_fp32), gradient cases through
NVIDIA's float32 autograd against our float64 gradients. Runs on the CPU, where NVIDIA's ops take
their reference paths. Nothing of NVIDIA's is part of this repository.
"""
import argparse
import importlib
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from weights import load_safetensors, GeneratorConfig  # noqa: E402

FIXTURES = os.path.join(HERE, "..", "..", "tests", "GrpcExplain.StyleGan.Tests", "Fixtures")


def nvidia_generator(src, cfg):
    sys.path.insert(0, os.path.abspath(src))
    try:
        nets = importlib.import_module("training.networks")
        kwargs = dict(mapping_kwargs=dict(num_layers=cfg.mapping_layers),
                      synthesis_kwargs=dict(channel_base=cfg.channel_base, channel_max=cfg.channel_max, conv_clamp=cfg.conv_clamp))
    except ImportError:
        nets = importlib.import_module("training.networks_stylegan2")
        kwargs = dict(mapping_kwargs=dict(num_layers=cfg.mapping_layers),
                      channel_base=cfg.channel_base, channel_max=cfg.channel_max, conv_clamp=cfg.conv_clamp)
    return nets.Generator(cfg.z_dim, cfg.c_dim, cfg.w_dim, cfg.img_resolution, cfg.img_channels, **kwargs).eval()


def check(src, folder):
    doc = json.load(open(os.path.join(folder, "cases.json")))
    weights, meta = load_safetensors(os.path.join(folder, doc["weights"]))
    t, _ = load_safetensors(os.path.join(folder, doc["tensors"]))
    cfg = GeneratorConfig.from_metadata(meta)
    G = nvidia_generator(src, cfg)
    G.load_state_dict({k: weights[k].reshape(v.shape) if k in weights else v for k, v in G.state_dict().items()})
    worst = 0.0
    for case in doc["cases"]:
        inp = {k: t[v] for k, v in case["inputs"].items()}
        out = case["outputs"]

        def ws_of(latent_space, leaf=None):
            if latent_space == "z":
                return G.mapping(leaf if leaf is not None else inp["z"], inp.get("c"),
                                 truncation_psi=case["truncation_psi"], truncation_cutoff=case["truncation_cutoff"])
            if latent_space == "w":
                return (leaf if leaf is not None else inp["w"]).unsqueeze(1).repeat([1, G.num_ws, 1])
            return leaf if leaf is not None else inp["ws"]

        if case["kind"] == "forward":
            with torch.no_grad():
                ws = ws_of(case["latent_space"])
                errs = {}
                if "ws" in out:
                    errs["ws"] = float((ws - t[out["ws"]]).abs().max())
                for fused in (False, True):
                    img = G.synthesis(ws, noise_mode=case["noise_mode"], force_fp32=True, fused_modconv=fused)
                    errs[f"img fused={fused}"] = float((img - t[out["img"]]).abs().max())
        else:
            key = {"z": "z", "w": "w", "wplus": "ws"}[case["latent_space"]]
            leaf = inp[key].clone().requires_grad_(True)
            noise = {n[:-len(".noise_const")]: b for n, b in G.named_buffers() if n.endswith(".noise_const")}
            for b in noise.values():
                b.grad = None
                b.requires_grad_(True)
            img = G.synthesis(ws_of(case["latent_space"], leaf), noise_mode="const", force_fp32=True, fused_modconv=False)
            (img * inp["r"]).sum().backward()
            errs = {"img64": float((img - t[out["img64"]]).abs().max())}
            for name, tensor_name in out.items():
                if name == "img64":
                    continue
                grad = leaf.grad if not name.startswith("d_noise_const.") else noise[name[len("d_noise_const."):]].grad
                ref = t[tensor_name]
                errs[name] = float((grad - ref).abs().max() / ref.abs().max())  # relative to the largest element
            for b in noise.values():
                b.requires_grad_(False)
        worst = max(worst, *errs.values())
        print(f"  {case['name']:24s} " + ", ".join(f"{k} {v:.1e}" for k, v in errs.items()))
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nvidia-src", required=True, help="a checkout of stylegan2-ada-pytorch or stylegan3")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    worst = 0.0
    for name in sorted(os.listdir(FIXTURES)):
        folder = os.path.join(FIXTURES, name)
        if os.path.exists(os.path.join(folder, "cases.json")):
            print(name)
            worst = max(worst, check(args.nvidia_src, folder))
    print(f"worst difference {worst:.2e} (tolerance {args.tolerance:.0e})")
    sys.exit(0 if worst <= args.tolerance else 1)


if __name__ == "__main__":
    main()
