"""Our weights format on the Python side: safetensors (written by hand; Debian has no `safetensors`
package) and the generator's architecture as src/GrpcExplain.StyleGan/GeneratorConfig.cs defines it.

The format: an 8-byte little-endian header length, a JSON header
{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {str: str}}
padded with spaces to a multiple of 8 bytes, then the raw little-endian float32 data in header order.
"""
import json
import math
import struct
from dataclasses import dataclass

import torch

METADATA_KEYS = ["z_dim", "c_dim", "w_dim", "img_resolution", "img_channels",
                 "mapping_layers", "channel_base", "channel_max", "conv_clamp", "architecture"]
SUPPORTED_ARCHITECTURES = ["skip"]


def save_safetensors(path, tensors, metadata=None):
    """tensors: name -> tensor, written in the given order as F32; metadata: str -> str."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        data = t.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)))
        fh.write(text)
        for b in blobs:
            fh.write(b)


def load_safetensors(path):
    """Returns (tensors as an ordered dict of float32 tensors, metadata dict or None)."""
    import numpy as np
    with open(path, "rb") as fh:
        raw = fh.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None)
    base = 8 + n
    tensors = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        if e["dtype"] != "F32":
            raise ValueError(f"{path}: tensor '{name}' is {e['dtype']}; only F32 is supported")
        b, end = e["data_offsets"]
        arr = np.frombuffer(raw[base + b: base + end], dtype="<f4").reshape(e["shape"])
        tensors[name] = torch.from_numpy(arr.astype(np.float32))
    return tensors, metadata


@dataclass(frozen=True)
class GeneratorConfig:
    """The architecture, with GeneratorConfig.cs's fields and defaults (NVIDIA's names)."""
    z_dim: int
    c_dim: int
    w_dim: int
    img_resolution: int
    img_channels: int
    mapping_layers: int = 8
    channel_base: int = 32768
    channel_max: int = 512
    conv_clamp: float = None
    architecture: str = "skip"

    @property
    def resolution_log2(self):
        return int(math.log2(self.img_resolution))

    @property
    def num_ws(self):
        return 2 * self.resolution_log2 - 2

    @property
    def block_resolutions(self):
        return [2 ** i for i in range(2, self.resolution_log2 + 1)]

    def channels(self, res):
        return min(self.channel_base // res, self.channel_max)

    @property
    def embed_features(self):
        return self.w_dim if self.c_dim > 0 else 0

    def validate(self):
        r = self.img_resolution
        problems = []
        if self.z_dim < 0 or self.c_dim < 0 or self.z_dim + self.c_dim == 0:
            problems.append(f"z_dim ({self.z_dim}) and c_dim ({self.c_dim}) must be non-negative and not both 0")
        if self.w_dim <= 0:
            problems.append(f"w_dim must be positive, got {self.w_dim}")
        if not (4 <= r <= 1024 and r & (r - 1) == 0):
            problems.append(f"img_resolution must be a power of two from 4 to 1024, got {r}")
        if self.img_channels <= 0 or self.mapping_layers <= 0:
            problems.append("img_channels and mapping_layers must be positive")
        if self.conv_clamp is not None and not self.conv_clamp > 0:
            problems.append(f"conv_clamp must be positive or None, got {self.conv_clamp}")
        if self.architecture not in SUPPORTED_ARCHITECTURES:
            problems.append(f"unsupported architecture '{self.architecture}'; supported: {', '.join(SUPPORTED_ARCHITECTURES)}")
        if not problems and any(self.channels(res) <= 0 for res in self.block_resolutions):
            problems.append(f"channel_base {self.channel_base} leaves no channels at {r}x{r}")
        if problems:
            raise ValueError("Generator configuration: " + "; ".join(problems) + ".")

    def to_metadata(self):
        """As GeneratorConfig.ToMetadata writes it: string values, conv_clamp 'None' when absent."""
        clamp = "None"
        if self.conv_clamp is not None:
            c = float(self.conv_clamp)
            clamp = str(int(c)) if c.is_integer() else repr(c)
        return {"z_dim": str(self.z_dim), "c_dim": str(self.c_dim), "w_dim": str(self.w_dim),
                "img_resolution": str(self.img_resolution), "img_channels": str(self.img_channels),
                "mapping_layers": str(self.mapping_layers), "channel_base": str(self.channel_base),
                "channel_max": str(self.channel_max), "conv_clamp": clamp, "architecture": self.architecture}

    @staticmethod
    def from_metadata(meta):
        missing = [k for k in METADATA_KEYS if k not in meta and k != "conv_clamp"]
        if missing:
            raise ValueError(f"Generator metadata: {', '.join(missing)} missing")
        cc = meta.get("conv_clamp", "None")
        cfg = GeneratorConfig(*(int(meta[k]) for k in METADATA_KEYS[:8]),
                              conv_clamp=None if cc in ("None", "null", "") else float(cc),
                              architecture=meta["architecture"])
        cfg.validate()
        return cfg

    def parameter_shapes(self):
        """Every tensor the generator reads, NVIDIA's names and shapes in GeneratorConfig.TensorShapes()'s order."""
        out = []
        if self.c_dim > 0:
            out += [("mapping.embed.weight", [self.embed_features, self.c_dim]), ("mapping.embed.bias", [self.embed_features])]
        for l in range(self.mapping_layers):
            in_f = self.z_dim + self.embed_features if l == 0 else self.w_dim
            out += [(f"mapping.fc{l}.weight", [self.w_dim, in_f]), (f"mapping.fc{l}.bias", [self.w_dim])]
        out.append(("mapping.w_avg", [self.w_dim]))
        for res in self.block_resolutions:
            b, oc = f"synthesis.b{res}", self.channels(res)
            if res == 4:
                out.append((f"{b}.const", [oc, 4, 4]))
            else:
                out += _layer(f"{b}.conv0", self.channels(res // 2), oc, 3, res, self.w_dim, noise=True)
            out += _layer(f"{b}.conv1", oc, oc, 3, res, self.w_dim, noise=True)
            out += _layer(f"{b}.torgb", oc, self.img_channels, 1, res, self.w_dim, noise=False)
        return out

    def resample_filter_names(self):
        """The [1,3,3,1] FIR buffers an NVIDIA state_dict also holds (the generator ignores them)."""
        names = []
        for res in self.block_resolutions:
            names.append(f"synthesis.b{res}.resample_filter")
            if res > 4:
                names.append(f"synthesis.b{res}.conv0.resample_filter")
            names.append(f"synthesis.b{res}.conv1.resample_filter")
        return names

    def noise_layers(self):
        """The layers with a noise input, in synthesis order."""
        return [f"synthesis.b{res}.{conv}" for res in self.block_resolutions for conv in (("conv1",) if res == 4 else ("conv0", "conv1"))]


def _layer(name, in_c, out_c, k, res, w_dim, noise):
    out = [(f"{name}.affine.weight", [in_c, w_dim]), (f"{name}.affine.bias", [in_c]),
           (f"{name}.weight", [out_c, in_c, k, k]), (f"{name}.bias", [out_c])]
    if noise:
        out += [(f"{name}.noise_const", [res, res]), (f"{name}.noise_strength", [])]
    return out


def standard_resample_filter():
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = f.ger(f)
    return f / f.sum()


def check_tensors(config, tensors):
    """Raises ValueError naming every missing, unexpected or misshapen tensor, as GeneratorWeights does."""
    expected = dict(config.parameter_shapes())
    ignored = set(config.resample_filter_names())
    problems = []
    unexpected = sorted(k for k in tensors if k not in expected and not k.endswith(".resample_filter"))
    if unexpected:
        problems.append("unexpected tensors " + ", ".join(unexpected))
    missing = [k for k in expected if k not in tensors]
    if missing:
        problems.append("missing tensors " + ", ".join(missing))
    for k, shape in expected.items():
        if k in tensors and list(tensors[k].shape) != shape:
            problems.append(f"tensor '{k}' has shape {list(tensors[k].shape)}, expected {shape}")
        elif k in tensors and not torch.isfinite(tensors[k]).all():
            problems.append(f"tensor '{k}' holds non-finite values")
    if problems:
        raise ValueError(f"{config.img_resolution}x{config.img_resolution} generator: " + "; ".join(problems))
    return ignored


def save_generator(path, config, tensors, extra_metadata=None, with_resample_filters=True):
    """Writes the parameters in GeneratorConfig.TensorShapes() order (then the FIR buffers) with the config as metadata."""
    config.validate()
    check_tensors(config, tensors)
    out = {name: tensors[name].reshape(shape) for name, shape in config.parameter_shapes()}
    if with_resample_filters:
        f = standard_resample_filter()
        for name in config.resample_filter_names():
            out[name] = f
    meta = config.to_metadata()
    if extra_metadata:
        meta.update({k: str(v) for k, v in extra_metadata.items() if k not in meta})
    save_safetensors(path, out, meta)


def load_generator(path, dtype=torch.float32):
    """Reads a weights file into our reference Generator (tools/stylegan2/reference.py)."""
    from reference import Generator
    tensors, meta = load_safetensors(path)
    config = GeneratorConfig.from_metadata(meta or {})
    check_tensors(config, tensors)
    G = Generator.from_config(config)
    # The FIR buffers stay the standard [1,3,3,1] ones, whatever the file holds (as the C# loader does).
    state = {k: tensors[k].reshape(v.shape) if not k.endswith(".resample_filter") else v for k, v in G.state_dict().items()}
    G.load_state_dict(state)
    return G.to(dtype).eval(), config
