#!/usr/bin/env python3
"""Generator fixtures from PyTorch, for the C# StyleGAN2 generator's faithfulness tests.

For a few small generators with random weights (every bias, noise strength, w_avg and affine bias
random, so a dropped term shows), tools/stylegan2/reference.py (NVIDIA's stylegan2-ada-pytorch
generator as it computes in float32) produces ws and images for z, w and W+ inputs, truncation with
and without a cutoff, and noise modes const and none; and, in float64 through autograd, the
latent gradients of L = sum(img * r) for a fixed random r: with respect to W+, to one w broadcast to
every layer, to z through the mapping, and to every layer's noise_const.

Run once with Debian's python3-torch:
    /usr/bin/python3 tools/stylegan2/make_fixtures.py
It writes tests/GrpcExplain.StyleGan.Tests/Fixtures/<name>/{generator.safetensors, cases.safetensors,
cases.json} (small; committed). cases.json says which tensors each case reads and writes.
"""
import copy
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Generator  # noqa: E402
from weights import GeneratorConfig, save_generator, save_safetensors, load_generator  # noqa: E402

OUT_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "GrpcExplain.StyleGan.Tests", "Fixtures")
N = 2

FIXTURES = [
    # 32x32 grey, unconditional, conv_clamp that is not reached.
    ("grey32", GeneratorConfig(z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=1,
                               mapping_layers=2, channel_base=256, channel_max=32, conv_clamp=256.0), 1),
    # 64x64 RGB, conditional on 3 classes, no clamp.
    ("rgb64_cond", GeneratorConfig(z_dim=48, c_dim=3, w_dim=48, img_resolution=64, img_channels=3,
                                   mapping_layers=3, channel_base=512, channel_max=32, conv_clamp=None), 2),
    # 16x16 grey, z_dim != w_dim, one mapping layer, and a clamp (0.5) that most activations hit.
    ("clamp16", GeneratorConfig(z_dim=12, c_dim=0, w_dim=16, img_resolution=16, img_channels=1,
                                mapping_layers=1, channel_base=64, channel_max=8, conv_clamp=0.5), 3),
]


def random_weights(G, gen):
    """NVIDIA's initialisation where it is random, and random values where it is a constant."""
    def randn(shape, scale=1.0, shift=0.0):
        return torch.randn(shape, generator=gen) * scale + shift
    state = {}
    for name, t in G.state_dict().items():
        shape = list(t.shape)
        if name.endswith("resample_filter"):
            state[name] = t
        elif name.startswith("mapping.fc") and name.endswith(".weight"):
            state[name] = randn(shape, 1 / 0.01)            # stored as randn / lr_multiplier
        elif name.startswith("mapping.fc") and name.endswith(".bias"):
            state[name] = randn(shape, 20.0)                # x lr_multiplier 0.01 at run time: +-0.2
        elif name == "mapping.embed.bias":
            state[name] = randn(shape, 0.2)
        elif name == "mapping.w_avg":
            state[name] = randn(shape, 0.5)
        elif name.endswith("affine.bias"):
            state[name] = randn(shape, 0.2, 1.0)           # bias_init 1
        elif name.endswith("noise_strength"):
            state[name] = randn(shape, 0.3)                # either sign
        elif name.endswith("torgb.weight"):
            state[name] = randn(shape, 0.4)                # keeps the images near [-2, 2]
        elif name.endswith(".bias"):
            state[name] = randn(shape, 0.2)
        else:                                               # const, conv and affine weights, noise_const
            state[name] = randn(shape)
    return state


def gradient_case(G64, space, latent, r, c=None, noise_layers=()):
    """dL/d(latent) and dL/d(noise_const) for L = sum(img * r), all in float64."""
    latent = latent.double().clone().requires_grad_(True)
    buffers = {n: b for n, b in G64.named_buffers() if n.endswith("noise_const")}
    for b in buffers.values():
        b.grad = None
        b.requires_grad_(True)
    if space == "z":
        ws = G64.mapping(latent, None if c is None else c.double())
    elif space == "w":
        ws = latent.unsqueeze(1).repeat([1, G64.num_ws, 1])
    else:
        ws = latent
    img = G64.synthesis(ws, noise_mode="const")
    (img * r.double()).sum().backward()
    grads = {"d_" + space: latent.grad}
    for layer in noise_layers:
        grads[f"d_noise_const.{layer}"] = buffers[f"{layer}.noise_const"].grad
    for b in buffers.values():
        b.requires_grad_(False)
    return img.detach(), grads


def write_cases(out_dir, script, cfg, tensors, cases, **fields):
    """cases.safetensors and cases.json beside generator.safetensors, as the C# Fixture class reads them;
    fields (noise_layers, notes, ...) go into cases.json before the cases."""
    save_safetensors(os.path.join(out_dir, "cases.safetensors"), tensors)
    doc = {
        "generator_script": script,
        "reference": "tools/stylegan2/reference.py (NVIDIA stylegan2-ada-pytorch Generator, float32, unfused modulated convolution)",
        "torch": torch.__version__,
        "weights": "generator.safetensors",
        "tensors": "cases.safetensors",
        "config": cfg.to_metadata(),
        "num_ws": cfg.num_ws,
        "batch": N,
        **fields,
        "cases": cases,
    }
    with open(os.path.join(out_dir, "cases.json"), "w") as fh:
        json.dump(doc, fh, indent=1)


def make(name, cfg, seed):
    cfg.validate()
    out_dir = os.path.join(OUT_ROOT, name)
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    G = Generator.from_config(cfg).eval()

    # The reference's state_dict is exactly GeneratorConfig.TensorShapes() plus the FIR buffers.
    sd = G.state_dict()
    assert sorted(k for k in sd if not k.endswith("resample_filter")) == sorted(n for n, _ in cfg.parameter_shapes())
    assert all(list(sd[n].shape) == s for n, s in cfg.parameter_shapes())
    assert sorted(k for k in sd if k.endswith("resample_filter")) == sorted(cfg.resample_filter_names())

    G.load_state_dict(random_weights(G, gen))
    weights_path = os.path.join(out_dir, "generator.safetensors")
    save_generator(weights_path, cfg, G.state_dict())
    G, _ = load_generator(weights_path)  # what the C# side reads, read back
    G64 = copy.deepcopy(G).double()

    t, cases = {}, []
    z = torch.randn([N, cfg.z_dim], generator=gen)
    t["inputs.z"] = z
    c = None
    if cfg.c_dim > 0:
        c = torch.zeros([N, cfg.c_dim])
        c[0, 0] = 1
        c[1, cfg.c_dim - 1] = 1
        t["inputs.c"] = c
    z_inputs = {"z": "inputs.z"} | ({"c": "inputs.c"} if c is not None else {})
    with torch.no_grad():
        # w: the mapping of other z's, so they look like w's; W+: a different w per layer.
        z2 = torch.randn([N, cfg.z_dim], generator=gen)
        w = G.mapping(z2, c)[:, 0] + 0.1 * torch.randn([N, cfg.w_dim], generator=gen)
        zp = torch.randn([N * G.num_ws, cfg.z_dim], generator=gen)
        cp = None if c is None else c.repeat_interleave(G.num_ws, dim=0)
        wplus = G.mapping(zp, cp)[:, 0].reshape(N, G.num_ws, cfg.w_dim)
    t["inputs.w"], t["inputs.wplus"] = w, wplus

    def forward_case(case, space, inputs, psi=1.0, cutoff=None, noise="const", with_ws=False):
        with torch.no_grad():
            if space == "z":
                ws = G.mapping(z, c, truncation_psi=psi, truncation_cutoff=cutoff)
            elif space == "w":
                ws = w.unsqueeze(1).repeat([1, G.num_ws, 1])
            else:
                ws = wplus
            img = G.synthesis(ws, noise_mode=noise)
        outputs = {"img": f"{case}.img"}
        t[f"{case}.img"] = img
        if with_ws:
            outputs["ws"] = f"{case}.ws"
            t[f"{case}.ws"] = ws
        cases.append({"name": case, "kind": "forward", "latent_space": space, "inputs": inputs,
                      "truncation_psi": psi, "truncation_cutoff": cutoff, "noise_mode": noise,
                      "compute_dtype": "float32", "outputs": outputs})
        return img

    forward_case("z_psi1_const", "z", z_inputs, with_ws=True)
    forward_case("z_psi1_none", "z", z_inputs, noise="none")
    forward_case("z_psi07_const", "z", z_inputs, psi=0.7, with_ws=True)
    forward_case("z_psi05_cutoff4_const", "z", z_inputs, psi=0.5, cutoff=4, with_ws=True)
    img_w = forward_case("w_const", "w", {"w": "inputs.w"})
    img_wplus = forward_case("wplus_const", "wplus", {"ws": "inputs.wplus"})
    img_z = t["z_psi1_const.img"]

    r = torch.randn([N, cfg.img_channels, cfg.img_resolution, cfg.img_resolution], generator=gen)
    t["inputs.r"] = r
    f64_vs_f32 = {}
    for case, space, latent, inputs, img32, layers in [
        ("grad_wplus_const", "ws", wplus, {"ws": "inputs.wplus"}, img_wplus, cfg.noise_layers()),
        ("grad_w_const", "w", w, {"w": "inputs.w"}, img_w, ()),
        ("grad_z_psi1_const", "z", z, z_inputs, img_z, ()),
    ]:
        img64, grads = gradient_case(G64, space, latent, r, c if space == "z" else None, layers)
        f64_vs_f32[case] = float((img64 - img32.double()).abs().max())
        outputs = {"img64": f"{case}.img64"}
        t[f"{case}.img64"] = img64
        for g, v in grads.items():
            outputs[g] = f"{case}.{g}"
            t[f"{case}.{g}"] = v
        cases.append({"name": case, "kind": "gradient", "latent_space": {"ws": "wplus"}.get(space, space),
                      "inputs": inputs | {"r": "inputs.r"}, "truncation_psi": 1.0, "truncation_cutoff": None,
                      "noise_mode": "const", "loss": "L = sum(img * r)",
                      "compute_dtype": "float64 (the float32 weights and inputs widened exactly; results rounded to float32 for storage)",
                      "outputs": outputs})

    write_cases(out_dir, "tools/stylegan2/make_fixtures.py", cfg, t, cases, noise_layers=cfg.noise_layers(), notes=[
        "All tensors are F32. Forward cases are computed in float32; gradient cases in float64 and rounded to float32.",
        "ws = mapping(z, c, psi, cutoff) has shape [N, num_ws, w_dim]; truncation: ws[:, :cutoff] = w_avg.lerp(ws[:, :cutoff], psi) (all ws when cutoff is null).",
        "latent_space 'w': the w of shape [N, w_dim] is broadcast to every layer; 'wplus': one w per layer, [N, num_ws, w_dim].",
        "noise_mode 'const': each layer adds noise_const * noise_strength; 'none': no noise.",
        "d_noise_const.<layer> is dL/d(noise_const) of that layer, [res, res], summed over the batch; it is noise_strength times the gradient with respect to the noise map the layer adds.",
        "img64 is the float64 image of the gradient case; max |img64 - float32 image| per case: " + json.dumps(f64_vs_f32),
    ])
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(f"{name}: {len(cases)} cases, {len(t)} tensors, {size / 1e6:.2f} MB, max|img| {float(img_z.abs().max()):.2f}, "
          f"float64 vs float32 images {max(f64_vs_f32.values()):.2e} -> {os.path.normpath(out_dir)}")


def main():
    for name, cfg, seed in FIXTURES:
        make(name, cfg, seed)


if __name__ == "__main__":
    main()
