"""StyleGAN2 discriminator ('resnet' architecture) as NVIDIA's stylegan2-ada-pytorch computes it, in plain PyTorch.

An independent re-implementation of training/networks.py's Discriminator for checking the C#
discriminator (src/GrpcExplain.StyleGan/Training): same class names, same state_dict names and shapes
(DiscriminatorConfig.ParameterShapes()), same arithmetic, differentiable twice (R1 needs the
gradient of a gradient). The ops (upfirdn2d, bias_act, FullyConnectedLayer) are reference.py's.
What it leaves out, and why that does not change the numbers:

- fp16 and channels_last (num_fp16_res is not accepted): NVIDIA's force_fp32 path;
- conditioning (c_dim 0 only: no mapping network, no cmap projection) and the 'orig'/'skip'
  architectures: not implemented on the C# side either;
- freeze_layers: a training option that only turns requires_grad off.

Convention notes:
- Conv2dLayer stores its weight unscaled and multiplies by 1/sqrt(in * k * k) at run time.
- conv2d_resample with down=2 (the fast paths NVIDIA takes): a 1x1 kernel is downsampled first
  (upfirdn2d, pad 1, down 2) and then convolved; a 3x3 kernel is FIR-filtered with pad 2 (no down)
  and then convolved with stride 2 and no padding.
- The block's residual: skip (1x1, down 2, no bias, linear) and conv1 are each called with gain
  sqrt(0.5), so their sum is the residual sum scaled by sqrt(0.5); conv1's clamp is scaled too.
- MinibatchStdLayer groups samples i = g * (N / G) + m by m (the reshape(G, -1, ...)), so a group
  is every (N/G)-th sample, not consecutive ones.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import FullyConnectedLayer, bias_act, setup_filter, upfirdn2d  # noqa: E402


def conv2d_resample(x, w, f=None, down=1, padding=0):
    """conv2d_resample for what the discriminator needs: a plain correlation, or (down=2) the FIR
    filter followed by the convolution that together make the downsampling convolution."""
    if down == 1:
        return F.conv2d(x, w, padding=padding)
    kw, fw = w.shape[-1], f.shape[-1]
    p0 = padding + (fw - down + 1) // 2
    p1 = padding + (fw - down) // 2
    if kw == 1:
        x = upfirdn2d(x, f, down=down, padding=(p0, p1, p0, p1))
        return F.conv2d(x, w)
    x = upfirdn2d(x, f, padding=(p0, p1, p0, p1))
    return F.conv2d(x, w, stride=down)


class Conv2dLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, bias=True, activation="linear", down=1,
                 resample_filter=(1, 3, 3, 1), conv_clamp=None):
        super().__init__()
        self.activation, self.down, self.conv_clamp = activation, down, conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.act_gain = {"linear": 1.0, "lrelu": math.sqrt(2)}[activation]
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x, gain=1):
        w = self.weight * self.weight_gain
        x = conv2d_resample(x, w.to(x.dtype), f=self.resample_filter.to(x.dtype), down=self.down, padding=self.padding)
        act_gain = self.act_gain * gain
        act_clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act=self.activation, gain=act_gain, clamp=act_clamp)


class DiscriminatorBlock(torch.nn.Module):
    def __init__(self, in_channels, tmp_channels, out_channels, resolution, img_channels, architecture="resnet",
                 resample_filter=(1, 3, 3, 1), conv_clamp=None):
        assert architecture == "resnet", "only the 'resnet' architecture is implemented"
        super().__init__()
        self.in_channels, self.resolution = in_channels, resolution
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, kernel_size=1, activation="lrelu", conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, kernel_size=3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, kernel_size=3, activation="lrelu", down=2,
                                 resample_filter=resample_filter, conv_clamp=conv_clamp)
        self.skip = Conv2dLayer(tmp_channels, out_channels, kernel_size=1, bias=False, down=2, resample_filter=resample_filter)

    def forward(self, x, img):
        if self.in_channels == 0:
            x = self.fromrgb(img)
        y = self.skip(x, gain=math.sqrt(0.5))
        x = self.conv0(x)
        x = self.conv1(x, gain=math.sqrt(0.5))
        return y + x


class MinibatchStdLayer(torch.nn.Module):
    def __init__(self, group_size, num_channels=1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x):
        N, C, H, W = x.shape
        G = min(self.group_size, N) if self.group_size is not None else N
        Fc = self.num_channels
        c = C // Fc
        y = x.reshape(G, -1, Fc, c, H, W)   # [GnFcHW] split the minibatch into n groups of G (strided), channels into F groups
        y = y - y.mean(dim=0)               # [GnFcHW] subtract the mean over the group
        y = y.square().mean(dim=0)          # [nFcHW]  variance over the group
        y = (y + 1e-8).sqrt()               # [nFcHW]  standard deviation
        y = y.mean(dim=[2, 3, 4])           # [nF]     averaged over channels and pixels
        y = y.reshape(-1, Fc, 1, 1)         # [nF11]
        y = y.repeat(G, 1, H, W)            # [NFHW]   replicated over the group and the pixels
        return torch.cat([x, y], dim=1)


class DiscriminatorEpilogue(torch.nn.Module):
    def __init__(self, in_channels, resolution, img_channels, mbstd_group_size=4, mbstd_num_channels=1, conv_clamp=None):
        super().__init__()
        self.mbstd = MinibatchStdLayer(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        self.conv = Conv2dLayer(in_channels + mbstd_num_channels, in_channels, kernel_size=3, activation="lrelu", conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(in_channels * resolution ** 2, in_channels, activation="lrelu")
        self.out = FullyConnectedLayer(in_channels, 1)

    def forward(self, x):
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = self.fc(x.flatten(1))
        return self.out(x)


class Discriminator(torch.nn.Module):
    def __init__(self, c_dim, img_resolution, img_channels, architecture="resnet", channel_base=32768, channel_max=512,
                 conv_clamp=None, mbstd_group_size=4, mbstd_num_channels=1):
        assert c_dim == 0, "conditioning is not implemented"
        super().__init__()
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.block_resolutions = [2 ** i for i in range(int(math.log2(img_resolution)), 2, -1)]
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions + [4]}
        for res in self.block_resolutions:
            in_channels = channels[res] if res < img_resolution else 0
            block = DiscriminatorBlock(in_channels, channels[res], channels[res // 2], resolution=res, img_channels=img_channels,
                                       architecture=architecture, conv_clamp=conv_clamp)
            setattr(self, f"b{res}", block)
        self.b4 = DiscriminatorEpilogue(channels[4], resolution=4, img_channels=img_channels, mbstd_group_size=mbstd_group_size,
                                        mbstd_num_channels=mbstd_num_channels, conv_clamp=conv_clamp)

    def forward(self, img):
        """img [N, C, H, W] in [-1, 1] -> logits [N, 1]."""
        x = None
        for res in self.block_resolutions:
            x = getattr(self, f"b{res}")(x, img)
        return self.b4(x)

    @staticmethod
    def from_config(cfg):
        """From a DiscriminatorConfig (make_discriminator_fixtures.py; DiscriminatorConfig.cs's fields)."""
        return Discriminator(cfg.c_dim, cfg.img_resolution, cfg.img_channels, architecture=cfg.architecture,
                             channel_base=cfg.channel_base, channel_max=cfg.channel_max, conv_clamp=cfg.conv_clamp,
                             mbstd_group_size=cfg.mbstd_group_size, mbstd_num_channels=cfg.mbstd_num_channels)
