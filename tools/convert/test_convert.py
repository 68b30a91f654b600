#!/usr/bin/env python3
"""Tests the converters on small checkpoints with the structure of the real ones, built here.

    /usr/bin/python3 tools/convert/test_convert.py                  # run the tests (in a temporary folder)
    /usr/bin/python3 tools/convert/test_convert.py --write-fixtures # also refresh Fixtures/converted_*

NVIDIA: a temporary package tree stands in for NVIDIA's code under NVIDIA's module paths
(dnnlib.EasyDict; torch_utils.persistence with the same pickling protocol, each network pickled as
_reconstruct_persistent_obj(meta) with its module source, class name and __dict__; training.networks,
training.networks_stylegan2 and training.networks_stylegan3 whose classes are our reference's,
wrapped). A child process builds networks from it and pickles them as training_loop.py does; the
converter then runs in another process in which those packages cannot be imported at all.
rosinality: rosinality_model.py re-implements its Generator; its checkpoint is saved as train.py
does, and its own forward (fixed noise, as randomize_noise=False) gives the expected images.
Every converted file is loaded into reference.py and must give the source model's images.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
STYLEGAN2 = os.path.join(HERE, "..", "stylegan2")
sys.path.insert(0, STYLEGAN2)
sys.path.insert(0, HERE)
from weights import GeneratorConfig, load_safetensors, save_safetensors, load_generator  # noqa: E402
from nvidia_pickle import infer_channels, ConversionError  # noqa: E402
import rosinality_model  # noqa: E402

FIXTURES = os.path.join(HERE, "..", "..", "tests", "GrpcExplain.StyleGan.Tests", "Fixtures")
FAILURES = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        FAILURES.append(what)


# ----------------------------------------------------------------------------- NVIDIA stand-in packages

PERSISTENCE = '''
"""The pickling half of NVIDIA's torch_utils.persistence protocol (version 6)."""
import copy, inspect, sys
_version = 6

def _reconstruct_persistent_obj(meta):
    raise RuntimeError("only the converter reads these pickles")

def persistent_class(orig_class):
    module = sys.modules[orig_class.__module__]
    src = inspect.getsource(module)
    class Decorator(orig_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._init_args = copy.deepcopy(args)
            self._init_kwargs = copy.deepcopy(kwargs)
        def __reduce__(self):
            fields = list(super().__reduce__())
            fields += [None] * max(3 - len(fields), 0)
            meta = dict(type="class", version=_version, module_src=src, class_name=orig_class.__name__, state=fields[2])
            return (_reconstruct_persistent_obj, (meta,), None) + tuple(fields[3:])
    Decorator.__name__ = orig_class.__name__
    Decorator.__qualname__ = orig_class.__qualname__
    return Decorator
'''

EASYDICT = '''
class EasyDict(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)
    def __setattr__(self, name, value):
        self[name] = value
'''

# Our reference's classes under NVIDIA's module path, each wrapped as NVIDIA wraps its own.
NETWORKS = '''
import numpy as np
import torch
from torch_utils import persistence
exec(compile(open({reference!r}).read(), "reference.py", "exec"))
{extra}
for _name in ["FullyConnectedLayer", "MappingNetwork", "SynthesisLayer", "ToRGBLayer", "SynthesisBlock",
              "SynthesisNetwork", "Generator"] + {more!r}:
    globals()[_name] = persistence.persistent_class(globals()[_name])
'''

NETWORKS_ADA_EXTRA = '''
class Discriminator(torch.nn.Module):
    def __init__(self, c_dim, img_resolution, img_channels):
        super().__init__()
        self.b4 = torch.nn.Conv2d(img_channels, 4, 3)
        self.weight_gain = np.float64(0.5)  # NVIDIA's modules keep NumPy scalars as attributes
'''

# stylegan3's networks_stylegan2.Generator takes the synthesis arguments as keywords.
NETWORKS_SG3_STYLEGAN2_EXTRA = '''
_Generator = Generator
class Generator(_Generator):
    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs={}, **synthesis_kwargs):
        super().__init__(z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs=mapping_kwargs, synthesis_kwargs=synthesis_kwargs)
'''

# The shape of a StyleGAN3 generator: a Fourier-feature input and layers named L<i>_<size>_<channels>.
NETWORKS_SG3_EXTRA = '''
class SynthesisInput(torch.nn.Module):
    def __init__(self, w_dim, channels, size):
        super().__init__()
        self.affine = FullyConnectedLayer(w_dim, 4)
        self.weight = torch.nn.Parameter(torch.randn([channels, channels]))
        self.register_buffer("freqs", torch.randn([channels, 2]))
        self.register_buffer("phases", torch.rand([channels]) - 0.5)

class SynthesisLayer3(torch.nn.Module):
    def __init__(self, w_dim, channels):
        super().__init__()
        self.affine = FullyConnectedLayer(w_dim, channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([channels, channels, 3, 3]))

class SynthesisNetwork(torch.nn.Module):
    def __init__(self, w_dim, img_resolution, img_channels, channel_base=32768, channel_max=512, **kw):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels, self.num_ws = w_dim, img_resolution, img_channels, 4
        self.input = SynthesisInput(w_dim, 8, 36)
        self.L0_36_8 = SynthesisLayer3(w_dim, 8)
        self.layer_names = ["L0_36_8"]

class Generator(torch.nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs={}, **synthesis_kwargs):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.img_resolution, self.img_channels = z_dim, c_dim, w_dim, img_resolution, img_channels
        self.synthesis = SynthesisNetwork(w_dim=w_dim, img_resolution=img_resolution, img_channels=img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, num_ws=self.num_ws, **mapping_kwargs)
'''


def write_nvidia_packages(root):
    reference = os.path.abspath(os.path.join(STYLEGAN2, "reference.py"))
    files = {
        "dnnlib/__init__.py": "from .util import EasyDict\n",
        "dnnlib/util.py": EASYDICT,
        "torch_utils/__init__.py": "",
        "torch_utils/persistence.py": PERSISTENCE,
        "training/__init__.py": "",
        "training/networks.py": NETWORKS.format(reference=reference, extra=NETWORKS_ADA_EXTRA, more=["Discriminator"]),
        "training/networks_stylegan2.py": NETWORKS.format(reference=reference, extra=NETWORKS_SG3_STYLEGAN2_EXTRA, more=[]),
        "training/networks_stylegan3.py": NETWORKS.format(reference=reference, extra=NETWORKS_SG3_EXTRA, more=["SynthesisInput", "SynthesisLayer3"]),
    }
    for path, text in files.items():
        os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
        with open(os.path.join(root, path), "w") as fh:
            fh.write(textwrap.dedent(text))


def make_nvidia_pickle(root, variant, out_pkl, out_expected):
    """Runs in a child process with the stand-in packages importable: builds G_ema as NVIDIA's
    training loop does, pickles {G, D, G_ema, augment_pipe, training_set_kwargs}, and records the
    source model's images."""
    sys.path.insert(0, root)
    import dnnlib
    from make_fixtures import random_weights
    mapping = dnnlib.EasyDict(num_layers=2)
    if variant in ("ada", "ada_resnet", "ada_hostile"):
        from training import networks as nets
        synthesis = dnnlib.EasyDict(channel_base=256, channel_max=16, num_fp16_res=2, conv_clamp=256)
        G = nets.Generator(z_dim=24, c_dim=2, w_dim=24, img_resolution=32, img_channels=3, mapping_kwargs=mapping, synthesis_kwargs=synthesis)
        D = nets.Discriminator(c_dim=2, img_resolution=32, img_channels=3)
    elif variant == "sg3_stylegan2":
        from training import networks_stylegan2 as nets
        mapping.lr_multiplier = 0.1  # folded into the weights by the converter
        G = nets.Generator(z_dim=16, c_dim=0, w_dim=20, img_resolution=16, img_channels=1, mapping_kwargs=mapping,
                           channel_base=128, channel_max=8, num_fp16_res=0, conv_clamp=None)
        D = None
    else:
        from training import networks_stylegan3 as nets
        G = nets.Generator(z_dim=16, c_dim=0, w_dim=16, img_resolution=16, img_channels=3, mapping_kwargs=mapping)
        D = None
    gen = torch.Generator().manual_seed(7)
    if variant != "sg3":
        state = random_weights(G, gen)  # mapping weights stored as randn / 0.01
        if variant == "sg3_stylegan2":  # ... and here as randn / 0.1, as that lr_multiplier initialises them
            state = {k: v * 0.1 if k.startswith("mapping.fc") else v for k, v in state.items()}
        G.load_state_dict(state)
    if variant == "ada_resnet":  # what a generator trained with architecture='resnet' records
        G.synthesis._init_kwargs["architecture"] = "resnet"
        for res in G.synthesis.block_resolutions:
            getattr(G.synthesis, f"b{res}").architecture = "resnet"
    G_ema = G.eval().requires_grad_(False)
    data = dict(G=G, D=D, G_ema=G_ema, augment_pipe=None, training_set_kwargs=dnnlib.EasyDict(path="datasets/x.zip", use_labels=True))
    if variant == "ada_hostile":  # a global no network pickle holds
        class Hostile:
            def __reduce__(self):
                return (os.system, (f"touch {out_pkl}.pwned",))
        data["extra"] = Hostile()
    with open(out_pkl, "wb") as fh:
        import pickle
        pickle.dump(data, fh)
    if variant == "sg3":
        return
    z = torch.randn([2, G.z_dim], generator=gen)
    c = torch.eye(G.c_dim)[[0, G.c_dim - 1]] if G.c_dim else None
    t = {"inputs.z": z} | ({"inputs.c": c} if c is not None else {})
    with torch.no_grad():
        t["z_psi1_const.img"] = G(z, c, noise_mode="const")
        t["z_psi07_cutoff2_const.img"] = G(z, c, truncation_psi=0.7, truncation_cutoff=2, noise_mode="const")
        t["z_psi1_none.img"] = G(z, c, noise_mode="none")
    save_safetensors(out_expected, t)


def run_converter(script, args, cwd):
    """The converter in a fresh interpreter where training, torch_utils and dnnlib cannot be imported."""
    block = "import sys, runpy; [sys.modules.__setitem__(m, None) for m in ('training', 'torch_utils', 'dnnlib')]; "
    code = block + f"sys.argv = {[script] + args!r}; runpy.run_path({script!r}, run_name='__main__')"
    p = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env={"PATH": os.environ.get("PATH", "")})
    return p.returncode, p.stdout + p.stderr


def max_diff(a, b):
    return float((a.double() - b.double()).abs().max())


def test_nvidia(tmp, write_fixtures):
    pkgs = os.path.join(tmp, "nvidia_src")
    write_nvidia_packages(pkgs)
    work = os.path.join(tmp, "work")
    os.makedirs(work, exist_ok=True)
    script = os.path.join(HERE, "nvidia_pickle.py")
    for variant in ("ada", "sg3_stylegan2", "sg3", "ada_resnet", "ada_hostile"):
        pkl, expected, out = (os.path.join(work, f"{variant}{ext}") for ext in (".pkl", "_expected.safetensors", ".safetensors"))
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--make-nvidia-pickle", pkgs, variant, pkl, expected],
                           capture_output=True, text=True)
        if p.returncode != 0:
            check(False, f"nvidia {variant}: building the pickle failed:\n{p.stderr}")
            continue
        rc, log = run_converter(script, [pkl, out], cwd=work)
        if variant == "sg3":
            check(rc != 0 and "StyleGAN3" in log and "skip" in log, f"nvidia stylegan3 generator refused, naming what is supported: {log.strip().splitlines()[-1]}")
            continue
        if variant == "ada_resnet":
            check(rc != 0 and "'resnet'" in log and "supported: 'skip'" in log, f"nvidia resnet architecture refused: {log.strip().splitlines()[-1]}")
            continue
        if variant == "ada_hostile":
            check(rc != 0 and "refusing to load global" in log and not os.path.exists(pkl + ".pwned"),
                  f"nvidia pickle with a foreign global refused before it ran: {log.strip().splitlines()[-1]}")
            continue
        check(rc == 0, f"nvidia {variant}: converted without NVIDIA's code importable" + ("" if rc == 0 else f"\n{log}"))
        if rc != 0:
            continue
        G, cfg = load_generator(out)
        e, _ = load_safetensors(expected)
        z, c = e["inputs.z"], e.get("inputs.c")
        with torch.no_grad():
            ours = {"z_psi1_const.img": G(z, c, noise_mode="const"),
                    "z_psi07_cutoff2_const.img": G(z, c, truncation_psi=0.7, truncation_cutoff=2, noise_mode="const"),
                    "z_psi1_none.img": G(z, c, noise_mode="none")}
        scale = max(float(e[k].abs().max()) for k in ours)
        worst = max(max_diff(ours[k], e[k]) for k in ours)
        check(worst <= 2e-6 * scale, f"nvidia {variant}: {cfg.img_resolution}x{cfg.img_resolution}x{cfg.img_channels} c_dim {cfg.c_dim} "
                             f"channel_base {cfg.channel_base} channel_max {cfg.channel_max} conv_clamp {cfg.conv_clamp}: "
                             f"reference on converted weights vs source model, max |diff| {worst:.1e} (|img| up to {scale:.1f})")
        if variant == "sg3_stylegan2":
            check("rescaled for lr_multiplier 0.1 -> 0.01" in log, "nvidia: mapping lr_multiplier 0.1 folded into the weights")
        if variant == "ada" and write_fixtures:
            write_converted_fixture("converted_nvidia_rgb32_cond", out, e, ours, {
                "source": "a stylegan2-ada-pytorch-style pickle built by tools/convert/test_convert.py (G_ema, persistence-wrapped "
                          "classes under training.networks), converted by tools/convert/nvidia_pickle.py",
                "cases": [
                    {"name": "z_psi1_const", "inputs": {"z": "inputs.z", "c": "inputs.c"}, "truncation_psi": 1.0, "truncation_cutoff": None, "noise_mode": "const", "output": "z_psi1_const.img"},
                    {"name": "z_psi07_cutoff2_const", "inputs": {"z": "inputs.z", "c": "inputs.c"}, "truncation_psi": 0.7, "truncation_cutoff": 2, "noise_mode": "const", "output": "z_psi07_cutoff2_const.img"},
                    {"name": "z_psi1_none", "inputs": {"z": "inputs.z", "c": "inputs.c"}, "truncation_psi": 1.0, "truncation_cutoff": None, "noise_mode": "none", "output": "z_psi1_none.img"},
                ]})
    rc, log = run_converter(script, [os.path.join(work, "ada.pkl"), os.path.join(work, "x.safetensors"), "--key", "G_missing"], cwd=work)
    check(rc != 0 and "G_ema" in log, f"nvidia: an absent --key is refused, listing the keys: {log.strip().splitlines()[-1]}")


# ----------------------------------------------------------------------------- rosinality


def randomize_rosinality(G, gen):
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise.weight"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
            elif name.endswith("modulation.bias"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * (20 if name.startswith("style.") else 0.2))
            elif name.startswith("to_rgb") and name.endswith("conv.weight"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.4)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * (1 / G.style[1].lr_mul if name.startswith("style.") else 1))
        for name, b in G.noises.named_buffers():
            b.copy_(torch.randn(b.shape, generator=gen))
    return G.eval()


def rosinality_cases(R, z, wplus, latent_avg):
    """The source model's own forward: noise fixed (randomize_noise=False) or zero."""
    zeros = [torch.zeros_like(getattr(R.noises, f"noise_{i}")) for i in range(R.num_layers)]
    with torch.no_grad():
        return {"z_psi1_const.img": R([z], randomize_noise=False)[0],
                "z_psi07_const.img": R([z], truncation=0.7, truncation_latent=latent_avg, randomize_noise=False)[0],
                "z_psi1_none.img": R([z], noise=zeros)[0],
                "wplus_const.img": R([wplus], input_is_latent=True, randomize_noise=False)[0]}


def reference_cases(G, z, wplus):
    with torch.no_grad():
        return {"z_psi1_const.img": G(z, noise_mode="const"),
                "z_psi07_const.img": G(z, truncation_psi=0.7, noise_mode="const"),
                "z_psi1_none.img": G(z, noise_mode="none"),
                "wplus_const.img": G.synthesis(wplus, noise_mode="const")}


def test_rosinality(tmp, write_fixtures):
    import argparse as _argparse
    work = os.path.join(tmp, "rosinality")
    os.makedirs(work, exist_ok=True)
    script = os.path.join(HERE, "rosinality.py")
    gen = torch.Generator().manual_seed(11)

    # A train.py checkpoint with latent_avg (as convert_weight.py adds) and the default lr_mlp.
    R = randomize_rosinality(rosinality_model.Generator(32, 16, 2, channels={4: 16, 8: 16, 16: 8, 32: 4}), gen)
    with torch.no_grad():
        latent_avg = R.style(torch.randn([4096, 16], generator=gen)).mean(0)
    ckpt = os.path.join(work, "000100.pt")
    torch.save({"g": R.state_dict(), "d": {}, "g_ema": R.state_dict(), "g_optim": {}, "d_optim": {},
                "args": _argparse.Namespace(size=32, latent=16, n_mlp=2), "ada_aug_p": 0.0, "latent_avg": latent_avg}, ckpt)
    out = os.path.join(work, "converted.safetensors")
    rc, log = run_converter(script, [ckpt, out], cwd=work)
    check(rc == 0, "rosinality: train.py checkpoint converted" + ("" if rc == 0 else f"\n{log}"))
    z = torch.randn([2, 16], generator=gen)
    with torch.no_grad():
        wplus = R.style(torch.randn([2 * R.n_latent, 16], generator=gen)).reshape(2, R.n_latent, 16)
    if rc == 0:
        G, cfg = load_generator(out)
        src, ours = rosinality_cases(R, z, wplus, latent_avg), reference_cases(G, z, wplus)
        for k in src:
            d = max_diff(ours[k], src[k])
            check(d <= 2e-5, f"rosinality {k.split('.')[0]}: reference on converted weights vs rosinality's forward, max |diff| {d:.1e} "
                             f"(|img| up to {float(src[k].abs().max()):.2f})")
        check(cfg.channel_base == 128 and cfg.channel_max == 16 and cfg.img_channels == 3 and cfg.conv_clamp is None,
              f"rosinality: channels {{4: 16, 8: 16, 16: 8, 32: 4}} read as channel_base {cfg.channel_base}, channel_max {cfg.channel_max}")
        if write_fixtures:
            e = {"inputs.z": z, "inputs.wplus": wplus} | src
            write_converted_fixture("converted_rosinality_rgb32", out, e, ours, {
                "source": "a rosinality/stylegan2-pytorch Generator (tools/convert/rosinality_model.py, its channel table shrunk to "
                          "{4: 16, 8: 16, 16: 8, 32: 4}) saved as train.py does with latent_avg, converted by tools/convert/rosinality.py; "
                          "expected images from rosinality's own forward (fused grouped convolutions, native upfirdn2d)",
                "cases": [
                    {"name": "z_psi1_const", "inputs": {"z": "inputs.z"}, "truncation_psi": 1.0, "truncation_cutoff": None, "noise_mode": "const", "output": "z_psi1_const.img",
                     "rosinality_call": "g_ema([z], randomize_noise=False)"},
                    {"name": "z_psi07_const", "inputs": {"z": "inputs.z"}, "truncation_psi": 0.7, "truncation_cutoff": None, "noise_mode": "const", "output": "z_psi07_const.img",
                     "rosinality_call": "g_ema([z], truncation=0.7, truncation_latent=latent_avg, randomize_noise=False)"},
                    {"name": "z_psi1_none", "inputs": {"z": "inputs.z"}, "truncation_psi": 1.0, "truncation_cutoff": None, "noise_mode": "none", "output": "z_psi1_none.img",
                     "rosinality_call": "g_ema([z], noise=[zeros] * num_layers)"},
                    {"name": "wplus_const", "inputs": {"ws": "inputs.wplus"}, "noise_mode": "const", "output": "wplus_const.img",
                     "rosinality_call": "g_ema([wplus], input_is_latent=True, randomize_noise=False)"},
                ]})

    # A bare g_ema state dict saved through DistributedDataParallel ('module.' prefix), lr_mlp 0.1, no latent_avg.
    R2 = randomize_rosinality(rosinality_model.Generator(16, 8, 3, lr_mlp=0.1, channels={4: 8, 8: 8, 16: 8}), gen)
    bare = os.path.join(work, "bare.pt")
    torch.save({"module." + k: v for k, v in R2.state_dict().items()}, bare)
    out2 = os.path.join(work, "bare.safetensors")
    rc, log = run_converter(script, [bare, out2, "--lr-mlp", "0.1", "--w-avg-samples", "20000", "--seed", "3"], cwd=work)
    check(rc == 0 and "lr_mlp 0.1" in log, "rosinality: bare DDP state dict with lr_mlp 0.1 converted" + ("" if rc == 0 else f"\n{log}"))
    if rc == 0:
        G2, _ = load_generator(out2)
        z2 = torch.randn([2, 8], generator=gen)
        with torch.no_grad():
            d = max_diff(G2(z2, noise_mode="const"), R2([z2], randomize_noise=False)[0])
            g = torch.Generator().manual_seed(3)
            mean = sum(R2.style(torch.randn([10_000, 8], generator=g)).double().sum(0) for _ in range(2)) / 20_000
            dw = max_diff(G2.mapping.w_avg, mean)
        check(d <= 2e-5, f"rosinality lr_mlp 0.1: images match rosinality's forward, max |diff| {d:.1e}")
        check(dw <= 1e-5, f"rosinality: w_avg without latent_avg is the mapping's mean over the seeded z, max |diff| {dw:.1e}")

    # Refusals.
    R3 = rosinality_model.Generator(16, 8, 1, channels={4: 8, 8: 16, 16: 8})
    bad = os.path.join(work, "bad_channels.pt")
    torch.save({"g_ema": R3.state_dict()}, bad)
    rc, log = run_converter(script, [bad, os.path.join(work, "bad.safetensors")], cwd=work)
    check(rc != 0 and "channel_base" in log, f"rosinality: a channel table no channel_base/channel_max gives is refused: {log.strip().splitlines()[-1]}")
    sd = R2.state_dict()
    sd["convs.0.conv.blur.kernel"] = rosinality_model.make_kernel([1, 2, 1, 0]) * 4
    torch.save({"g_ema": sd}, bad)
    rc, log = run_converter(script, [bad, os.path.join(work, "bad.safetensors"), "--lr-mlp", "0.1"], cwd=work)
    check(rc != 0 and "blur kernel" in log, f"rosinality: another blur kernel is refused: {log.strip().splitlines()[-1]}")

    # The channel tables rosinality hard-codes are NVIDIA's min(base / res, max) for multipliers 1 and 2.
    for m in (1, 2):
        table = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * m, 128: 128 * m, 256: 64 * m, 512: 32 * m, 1024: 16 * m}
        base, cmax = infer_channels(table, None, None)
        check((base, cmax) == (16384 * m, 512), f"rosinality channel_multiplier {m} at 1024: channel_base {base}, channel_max {cmax}")
    try:
        infer_channels({4: 512, 8: 512, 16: 512, 32: 512, 64: 1024}, None, None)
        check(False, "rosinality channel_multiplier 4 refused")
    except ConversionError:
        check(True, "rosinality channel_multiplier 4 (1024 channels at 64 after 512 at 32) refused")


# ----------------------------------------------------------------------------- fixtures for the C# suite


def write_converted_fixture(name, weights_path, expected, ours, doc):
    folder = os.path.join(FIXTURES, name)
    os.makedirs(folder, exist_ok=True)
    shutil.copyfile(weights_path, os.path.join(folder, "generator.safetensors"))
    save_safetensors(os.path.join(folder, "expected.safetensors"), expected)
    _, meta = load_safetensors(weights_path)
    doc = {"generator_script": "tools/convert/test_convert.py --write-fixtures", "torch": torch.__version__,
           "weights": "generator.safetensors", "tensors": "expected.safetensors",
           "config": {k: v for k, v in meta.items() if k in GeneratorConfig.__dataclass_fields__},
           "notes": ["Expected images come from the source model's own forward in float32, not from our reference.",
                     "max |reference on the converted file - expected| per case: "
                     + json.dumps({k: max_diff(ours[k], expected[k]) for k in ours})]} | doc
    with open(os.path.join(folder, "expected.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    print(f"wrote {os.path.normpath(folder)} ({size / 1e3:.0f} kB)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write-fixtures", action="store_true", help="refresh tests/GrpcExplain.StyleGan.Tests/Fixtures/converted_*")
    ap.add_argument("--make-nvidia-pickle", nargs=4, metavar=("PACKAGES", "VARIANT", "PKL", "EXPECTED"), help=_argparse_hidden())
    args = ap.parse_args()
    if args.make_nvidia_pickle:
        make_nvidia_pickle(*args.make_nvidia_pickle)
        return
    with tempfile.TemporaryDirectory(prefix="convert-test-") as tmp:
        test_nvidia(tmp, args.write_fixtures)
        test_rosinality(tmp, args.write_fixtures)
    print(f"{len(FAILURES)} failure(s)" if FAILURES else "all converter tests passed")
    sys.exit(1 if FAILURES else 0)


def _argparse_hidden():
    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
