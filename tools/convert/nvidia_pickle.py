#!/usr/bin/env python3
"""Converts an NVIDIA StyleGAN2 pickle to our safetensors weights, without NVIDIA's code.

    /usr/bin/python3 tools/convert/nvidia_pickle.py network-snapshot-000800.pkl generator.safetensors [--key G_ema]

Reads the pickles that stylegan2-ada-pytorch (training/networks.py) and stylegan3 with
--cfg=stylegan2 (training/networks_stylegan2.py) write: a dict holding 'G', 'D', 'G_ema', ... whose
networks are torch_utils.persistence objects. Each of those pickles as a call to
torch_utils.persistence._reconstruct_persistent_obj(meta), where meta holds the class name, the
source code of its module and the module's __dict__ (its _parameters, _buffers, _modules,
_init_kwargs and plain attributes). Our unpickler maps that call to a stand-in that keeps meta and
never runs the embedded source, so the state_dict and the architecture can be read with nothing of
NVIDIA's installed. Only a short list of globals is resolved (torch's tensor rebuilding, NumPy
scalars, OrderedDict, dnnlib.EasyDict); anything else in the pickle is refused before it can run.

Supported: StyleGAN2 generators with the 'skip' synthesis architecture (config E/F, the default of
both repositories). Refused with a message: StyleGAN3 generators (stylegan3-t, stylegan3-r),
'orig' and 'resnet' synthesis, label embeddings or mapping widths other than w_dim, no w_avg,
resampling filters other than [1,3,3,1], activations other than leaky ReLU, kernels other than 3x3.
A mapping learning-rate multiplier other than 0.01 (or an affine/embedding multiplier other than 1)
is folded into the stored weights, because our format fixes NVIDIA's defaults.
"""
import argparse
import collections
import io
import math
import os
import pickle
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "stylegan2"))
from weights import GeneratorConfig, save_generator, standard_resample_filter  # noqa: E402

SUPPORTED = ("StyleGAN2 generators with the 'skip' architecture: stylegan2-ada-pytorch's training/networks.py "
             "Generator and stylegan3's training/networks_stylegan2.py Generator (--cfg=stylegan2)")


class ConversionError(Exception):
    pass


# ----------------------------------------------------------------------------- unpickling


class EasyDict(dict):
    """dnnlib.EasyDict: a dict with attribute access."""
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)


class Persistent:
    """Stands in for a torch_utils.persistence object: what NVIDIA's reconstruction would have seen."""
    def __init__(self, meta):
        self.class_name = meta.get("class_name")
        self.version = meta.get("version")
        self.module_src = meta.get("module_src") or ""
        self.state = dict(meta.get("state") or {})

    def __repr__(self):
        return f"<persistent {self.class_name}>"

    @property
    def init_kwargs(self):
        return dict(self.state.get("_init_kwargs") or {})

    def attr(self, name, default=None):
        return self.state.get(name, default)

    def child(self, name):
        return (self.state.get("_modules") or {}).get(name)

    def children(self):
        return dict(self.state.get("_modules") or {})

    def tensors(self, prefix=""):
        """The state_dict: parameters and persistent buffers, recursively, with dotted names."""
        out = collections.OrderedDict()
        skip = set(self.state.get("_non_persistent_buffers_set") or ())
        for name, p in (self.state.get("_parameters") or {}).items():
            if p is not None:
                out[prefix + name] = p
        for name, b in (self.state.get("_buffers") or {}).items():
            if b is not None and name not in skip:
                out[prefix + name] = b
        for name, m in self.children().items():
            if isinstance(m, Persistent):
                out.update(m.tensors(prefix + name + "."))
            elif isinstance(m, torch.nn.Module):
                out.update({prefix + name + "." + k: v for k, v in m.state_dict().items()})
        return out


class StandIn:
    """Any other object of NVIDIA's code base (training.*, torch_utils.*, dnnlib.*, metrics.*)."""
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs, self.state = args, kwargs, None

    def __setstate__(self, state):
        self.state = state


def _reconstruct_persistent_obj(meta):
    return Persistent(meta)


def _load_storage_from_bytes(b):
    # The storages of a plain pickle.dump are nested torch.save blobs: read them as weights only.
    try:
        return torch.load(io.BytesIO(b), map_location="cpu", weights_only=True)
    except TypeError:  # PyTorch before 1.13 has no weights_only
        return torch.load(io.BytesIO(b), map_location="cpu")


_NVIDIA_PACKAGES = ("training", "torch_utils", "dnnlib", "metrics", "legacy")
_NUMPY = {("numpy.core.multiarray", "scalar"), ("numpy.core.multiarray", "_reconstruct"), ("numpy", "dtype"),
          ("numpy", "ndarray"), ("numpy._core.multiarray", "scalar"), ("numpy._core.multiarray", "_reconstruct")}
_BUILTINS = {"set", "frozenset", "slice", "range", "complex", "bytearray", "object", "tuple", "list", "dict"}


class NvidiaUnpickler(pickle.Unpickler):
    def __init__(self, file, allow_any_global=False):
        super().__init__(file)
        self.allow_any_global = allow_any_global
        self._stand_ins = {}

    def find_class(self, module, name):
        if module == "torch_utils.persistence" and name == "_reconstruct_persistent_obj":
            return _reconstruct_persistent_obj
        if module.split(".")[0] == "dnnlib" and name == "EasyDict":
            return EasyDict
        if module.split(".")[0] in _NVIDIA_PACKAGES:
            return self._stand_ins.setdefault((module, name), type(name, (StandIn,), {"__module__": "nvidia:" + module}))
        if module == "torch.storage" and name == "_load_from_bytes":
            return _load_storage_from_bytes
        if (module == "torch._utils" and name.startswith("_rebuild_")) or (module, name) in _NUMPY \
                or (module == "collections" and name == "OrderedDict") or (module == "copyreg" and name == "_reconstructor") \
                or (module == "builtins" and name in _BUILTINS) or (module == "_codecs" and name == "encode") \
                or (module == "torch" and (name.endswith("Storage") or name in ("Size", "device") or isinstance(getattr(torch, name, None), torch.dtype))) \
                or (module in ("torch.nn.parameter", "torch._tensor") and name in ("Parameter", "_rebuild_from_type_v2", "Tensor")) \
                or module.startswith("torch.nn.modules.") or self.allow_any_global:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load global '{module}.{name}': it is not part of an NVIDIA StyleGAN2 network pickle "
            "(pickles can run code; pass --allow-any-global only for a file you trust)")


def load_pickle(path, allow_any_global=False):
    with open(path, "rb") as fh:
        return NvidiaUnpickler(fh, allow_any_global).load()


# ----------------------------------------------------------------------------- reading the generator


def _fail(msg):
    raise ConversionError(msg)


def _is_stylegan3(G):
    syn = G.child("synthesis")
    names = set(syn.children()) if isinstance(syn, Persistent) else set()
    return ("input" in names and isinstance(syn.child("input"), Persistent) and syn.child("input").class_name == "SynthesisInput") \
        or any(n.startswith("L") and "_" in n for n in names) or "class SynthesisInput" in G.module_src


def _fc_fold(layer, name, lr_target, tensors):
    """Our format assumes NVIDIA's default learning-rate multiplier for each FullyConnectedLayer;
    another one is folded into the stored weight and bias so the product is the same."""
    if not isinstance(layer, Persistent) or f"{name}.weight" not in tensors or f"{name}.bias" not in tensors:
        _fail(f"{name} is missing or has no weight and bias")
    w = tensors[f"{name}.weight"]
    in_f = w.shape[1]
    wg = float(layer.attr("weight_gain", lr_target / math.sqrt(in_f)))
    bg = float(layer.attr("bias_gain", lr_target))
    notes = []
    if abs(wg / (lr_target / math.sqrt(in_f)) - 1) > 1e-9:
        tensors[f"{name}.weight"] = w * (wg / (lr_target / math.sqrt(in_f)))
        notes.append(f"{name}.weight rescaled for lr_multiplier {wg * math.sqrt(in_f):g} -> {lr_target:g}")
    if f"{name}.bias" in tensors and abs(bg / lr_target - 1) > 1e-9:
        tensors[f"{name}.bias"] = tensors[f"{name}.bias"] * (bg / lr_target)
        notes.append(f"{name}.bias rescaled for lr_multiplier {bg:g} -> {lr_target:g}")
    return notes


def infer_channels(channels, hint_base, hint_max):
    """channel_base and channel_max with min(base // res, max) == channels[res] for every block:
    the configuration's own values when they fit, else ones read off the shapes."""
    def fits(base, cmax):
        return all(min(base // r, cmax) == c for r, c in channels.items())
    if hint_base is not None and hint_max is not None and fits(hint_base, hint_max):
        return hint_base, hint_max
    top = max(channels)
    base, cmax = channels[top] * top, max(channels.values())
    if fits(base, cmax):
        return base, cmax
    _fail("the channel counts per resolution " + ", ".join(f"{r}: {c}" for r, c in sorted(channels.items()))
          + " are not min(channel_base / res, channel_max) for any channel_base and channel_max, which our format requires")


def read_generator(G):
    """(GeneratorConfig, tensors by NVIDIA name, notes) from a persistent Generator stand-in."""
    if not isinstance(G, Persistent):
        _fail(f"expected a network object, found {type(G).__name__}; {SUPPORTED} are supported")
    if _is_stylegan3(G):
        _fail("this is a StyleGAN3 (alias-free) generator; it is not supported. Supported: " + SUPPORTED)
    if G.class_name != "Generator":
        _fail(f"expected a Generator, found {G.class_name}. Supported: {SUPPORTED}")
    mapping, syn = G.child("mapping"), G.child("synthesis")
    if not (isinstance(mapping, Persistent) and mapping.class_name == "MappingNetwork"
            and isinstance(syn, Persistent) and syn.class_name == "SynthesisNetwork"):
        _fail("the generator has no MappingNetwork 'mapping' and SynthesisNetwork 'synthesis'. Supported: " + SUPPORTED)
    kw = G.init_kwargs
    z_dim, c_dim, w_dim = (int(G.attr(k, kw.get(k))) for k in ("z_dim", "c_dim", "w_dim"))
    res, img_channels = int(G.attr("img_resolution", kw.get("img_resolution"))), int(G.attr("img_channels", kw.get("img_channels")))
    tensors = {k: v.detach().to(torch.float32) for k, v in G.tensors().items()}
    notes = []

    # Synthesis: every block must be a 'skip' block of conv0 (not at 4x4), conv1 and torgb.
    blocks = [2 ** i for i in range(2, int(math.log2(res)) + 1)]
    clamps, channels = set(), {}
    for r in blocks:
        b = syn.child(f"b{r}")
        if not isinstance(b, Persistent) or b.class_name != "SynthesisBlock":
            _fail(f"synthesis.b{r} is missing or not a SynthesisBlock. Supported: {SUPPORTED}")
        arch = b.attr("architecture", "skip")
        if arch != "skip":
            _fail(f"synthesis.b{r} uses the '{arch}' architecture; supported: 'skip' ({SUPPORTED})")
        for conv in (["conv1"] if r == 4 else ["conv0", "conv1"]):
            layer = b.child(conv)
            name = f"synthesis.b{r}.{conv}"
            if not isinstance(layer, Persistent) or layer.class_name != "SynthesisLayer":
                _fail(f"{name} is missing or not a SynthesisLayer")
            if layer.attr("activation", "lrelu") != "lrelu":
                _fail(f"{name} uses activation '{layer.attr('activation')}'; only 'lrelu' is supported")
            if tuple(tensors[f"{name}.weight"].shape[2:]) != (3, 3):
                _fail(f"{name} has a {tuple(tensors[f'{name}.weight'].shape[2:])} kernel; only 3x3 is supported")
            clamps.add(layer.attr("conv_clamp"))
            notes += _fc_fold(layer.child("affine"), f"{name}.affine", 1.0, tensors)
            if not layer.attr("use_noise", True):
                tensors[f"{name}.noise_const"] = torch.zeros([r, r])
                tensors[f"{name}.noise_strength"] = torch.zeros([])
                notes.append(f"{name} has no noise input: noise_const and noise_strength stored as zeros")
        torgb = b.child("torgb")
        if not isinstance(torgb, Persistent):
            _fail(f"synthesis.b{r} has no torgb")
        clamps.add(torgb.attr("conv_clamp"))
        notes += _fc_fold(torgb.child("affine"), f"synthesis.b{r}.torgb.affine", 1.0, tensors)
        channels[r] = int(tensors[f"synthesis.b{r}.conv1.weight"].shape[0])
        for k in [k for k in tensors if k.startswith(f"synthesis.b{r}.") and k.endswith(".resample_filter")]:
            f = tensors.pop(k)
            if f.shape != (4, 4) or not torch.allclose(f, standard_resample_filter()):
                _fail(f"{k} is not the [1,3,3,1] filter; other resampling filters are not supported")
    if len(clamps) != 1:
        _fail(f"the layers use different conv_clamp values {sorted(map(str, clamps))}; one value is supported")
    conv_clamp = clamps.pop()
    skw = dict(syn.init_kwargs)
    skw.update(kw.get("synthesis_kwargs") or {})  # stylegan2-ada passes them as a dict, stylegan3 as keywords
    base, cmax = infer_channels(channels, skw.get("channel_base", kw.get("channel_base", 32768)),
                                skw.get("channel_max", kw.get("channel_max", 512)))

    # Mapping: z (and the label embedding) through num_layers FC layers of width w_dim.
    num_layers = int(mapping.attr("num_layers", mapping.init_kwargs.get("num_layers", 8)))
    if "mapping.w_avg" not in tensors:
        _fail("the mapping network has no w_avg (trained with w_avg_beta=None); truncation needs it")
    for idx in range(num_layers):
        fc = mapping.child(f"fc{idx}")
        if not isinstance(fc, Persistent):
            _fail(f"mapping.fc{idx} is missing")
        if fc.attr("activation", "lrelu") != "lrelu":
            _fail(f"mapping.fc{idx} uses activation '{fc.attr('activation')}'; only 'lrelu' is supported")
        notes += _fc_fold(fc, f"mapping.fc{idx}", 0.01, tensors)
    if c_dim > 0:
        notes += _fc_fold(mapping.child("embed"), "mapping.embed", 1.0, tensors)

    cfg = GeneratorConfig(z_dim, c_dim, w_dim, res, img_channels, num_layers, base, cmax,
                          None if conv_clamp is None else float(conv_clamp), "skip")
    cfg.validate()
    expected = dict(cfg.parameter_shapes())
    wrong = [f"{k} {list(tensors[k].shape)} (expected {s})" for k, s in expected.items() if k in tensors and list(tensors[k].shape) != s]
    if wrong:
        _fail("tensor shapes do not fit a StyleGAN2 generator (is the mapping or embedding wider than w_dim?): " + "; ".join(wrong[:6]))
    extra = sorted(set(tensors) - set(expected))
    if extra:
        _fail("the generator holds tensors a StyleGAN2 'skip' generator does not: " + ", ".join(extra[:8]))
    return cfg, tensors, notes


def convert(src, dst, key="G_ema", allow_any_global=False):
    data = load_pickle(src, allow_any_global)
    if isinstance(data, dict):
        if key not in data:
            _fail(f"{src} has no '{key}'; it holds {', '.join(map(str, data.keys()))} (choose one with --key)")
        G = data[key]
    else:
        G = data
    cfg, tensors, notes = read_generator(G)
    save_generator(dst, cfg, tensors, extra_metadata={
        "converted_from": f"NVIDIA StyleGAN2 pickle {os.path.basename(src)} ({key})",
        "converter": "tools/convert/nvidia_pickle.py"})
    return cfg, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pickle", help="network-snapshot-*.pkl from stylegan2-ada-pytorch or stylegan3 (--cfg=stylegan2)")
    ap.add_argument("output", help="the safetensors file to write")
    ap.add_argument("--key", default="G_ema", help="which network of the pickle to convert (default G_ema)")
    ap.add_argument("--allow-any-global", action="store_true", help="resolve every global in the pickle (only for files you trust)")
    args = ap.parse_args()
    try:
        cfg, notes = convert(args.pickle, args.output, args.key, args.allow_any_global)
    except (ConversionError, pickle.UnpicklingError) as e:
        print(f"error: {args.pickle}: {e}", file=sys.stderr)
        sys.exit(2)
    for n in notes:
        print(f"note: {n}")
    print(f"wrote {args.output}: {cfg.img_resolution}x{cfg.img_resolution}x{cfg.img_channels}, z_dim {cfg.z_dim}, c_dim {cfg.c_dim}, "
          f"w_dim {cfg.w_dim}, {cfg.mapping_layers} mapping layers, channel_base {cfg.channel_base}, channel_max {cfg.channel_max}, "
          f"conv_clamp {cfg.conv_clamp}")


if __name__ == "__main__":
    main()
