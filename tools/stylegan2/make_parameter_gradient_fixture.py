#!/usr/bin/env python3
"""Parameter-gradient fixture from PyTorch, for the C# generator's training backward.

A tiny conditional generator (16x16 RGB, 4 channels, w_dim 8, two mapping layers) with random
weights (every bias, noise strength and affine bias random, as make_fixtures.py draws them, so a
dropped term shows) maps z and c to ws with psi 1, synthesises with noise_mode 'const', and
takes, in float64 through autograd, the gradients of L = sum(img * r) for a fixed random r with
respect to every trainable parameter (G.named_parameters(): mapping, class embedding and
synthesis) and to ws [N, num_ws, w_dim] per layer: what SynthesisPass.ParameterBackward and
Generator.MappingParameterGradient compute. The same image's float32 forward is stored too.

Run once with Debian's python3-torch:
    /usr/bin/python3 tools/stylegan2/make_parameter_gradient_fixture.py
It writes tests/GrpcExplain.StyleGan.Tests/Fixtures/train16/{generator.safetensors,
cases.safetensors, cases.json} (tens of KB; committed), in make_fixtures.py's layout.
"""
import copy
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import N, OUT_ROOT, random_weights, write_cases  # noqa: E402
from reference import Generator  # noqa: E402
from weights import GeneratorConfig, load_generator, save_generator  # noqa: E402

NAME = "train16"
CONFIG = GeneratorConfig(z_dim=8, c_dim=2, w_dim=8, img_resolution=16, img_channels=3,
                         mapping_layers=2, channel_base=64, channel_max=4, conv_clamp=256.0)
SEED = 11


def main():
    cfg = CONFIG
    cfg.validate()
    out_dir = os.path.join(OUT_ROOT, NAME)
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(SEED)
    G = Generator.from_config(cfg).eval()
    G.load_state_dict(random_weights(G, gen))
    weights_path = os.path.join(out_dir, "generator.safetensors")
    save_generator(weights_path, cfg, G.state_dict())
    G, _ = load_generator(weights_path)  # what the C# side reads, read back
    G64 = copy.deepcopy(G).double()

    # GeneratorConfig.ParameterShapes() is exactly what PyTorch trains: state_dict minus the buffers.
    params = dict(G64.named_parameters())
    assert sorted(params) == sorted(n for n, _ in cfg.parameter_shapes() if n != "mapping.w_avg" and not n.endswith("noise_const"))

    z = torch.randn([N, cfg.z_dim], generator=gen)
    c = torch.zeros([N, cfg.c_dim])
    c[0, 0] = 1
    c[1, cfg.c_dim - 1] = 1
    r = torch.randn([N, cfg.img_channels, cfg.img_resolution, cfg.img_resolution], generator=gen)
    with torch.no_grad():
        img32 = G(z, c, noise_mode="const")

    ws = G64.mapping(z.double(), c.double())
    ws.retain_grad()
    img64 = G64.synthesis(ws, noise_mode="const")
    (img64 * r.double()).sum().backward()

    t = {"inputs.z": z, "inputs.c": c, "inputs.r": r}
    case = "grad_parameters_z_const"
    outputs = {"img": f"{case}.img", "img64": f"{case}.img64", "d_ws": f"{case}.d_ws"}
    t[f"{case}.img"], t[f"{case}.img64"], t[f"{case}.d_ws"] = img32, img64.detach(), ws.grad
    for name, p in params.items():
        outputs[f"d.{name}"] = f"{case}.d.{name}"
        t[f"{case}.d.{name}"] = p.grad.reshape(p.shape)
    t = {k: v.float().contiguous() for k, v in t.items()}
    write_cases(out_dir, "tools/stylegan2/make_parameter_gradient_fixture.py", cfg, t, [{
        "name": case, "kind": "parameter_gradient", "latent_space": "z",
        "inputs": {"z": "inputs.z", "c": "inputs.c", "r": "inputs.r"},
        "truncation_psi": 1.0, "truncation_cutoff": None, "noise_mode": "const", "loss": "L = sum(img * r)",
        "compute_dtype": "float64 (results rounded to float32 for storage)", "outputs": outputs,
    }], notes=[
        "ws = mapping(z, c) with psi 1, [N, num_ws, w_dim]; img = synthesis(ws, noise_mode='const'); L = sum(img * r).",
        "img is the float32 forward; img64 and every gradient are computed in float64 (the float32 weights and inputs widened exactly) and rounded to float32.",
        "d.<name> is dL/d(<name>) for every trainable parameter (G.named_parameters()), in the parameter's shape; d_ws is dL/dws per layer.",
        "Buffers (mapping.w_avg, noise_const) have no gradient; noise_strength's gradient is through noise_const * noise_strength.",
    ])
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(f"{NAME}: {len(params)} parameters, {len(t)} tensors, {size / 1e3:.0f} KB, max|img| {float(img32.abs().max()):.2f}, "
          f"float64 vs float32 image {float((img64.detach().float() - img32).abs().max()):.2e} -> {os.path.normpath(out_dir)}")


if __name__ == "__main__":
    main()
