#!/usr/bin/env python3
"""Reference classifiers for the classifier tests: two tiny CNNs exported to ONNX, a model repository
laid out as Triton's, and the outputs PyTorch computes for fixed images.

  tiny_cnn     FP32 NCHW input 'image' [N,3,32,32], normalised as torchvision does
               ((x01 - mean) / std per channel), output 'logits' [N,2] -> softmax.
  tiny_cnn_u8  UINT8 NHWC input 'image' [N,32,32,1] (the network itself divides by 255), output
               'logit' [N,1] -> sigmoid, read as the probability of the second of two classes.

The weights are random (seeded); the last layers are scaled up so that the probabilities are far
from uniform and a wrong preprocessing step changes them visibly.

Run with Debian's python3-torch (torch.onnx.export serialises the graph itself; the onnx Python
module is not needed):
    /usr/bin/python3 tools/classifier/make_fixture.py
It writes tests/GrpcExplain.Classifiers.Tests/Fixtures/model_repository/<model>/{classifier.json,
1/model.onnx} and Fixtures/cases.json: per model the images as uint8 levels k (the image in [-1, 1]
is float32(k) / 255 * 2 - 1, exactly as C# computes it), the uint8 model's input tensor, and the
raw outputs and probabilities PyTorch computes. All of it is small and committed.
"""
import json
import os

import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                    "GrpcExplain.Classifiers.Tests", "Fixtures")
REPO = os.path.join(ROOT, "model_repository")
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


class TinyCnn(torch.nn.Module):
    def __init__(self, in_channels, classes):
        super().__init__()
        self.conv0 = torch.nn.Conv2d(in_channels, 8, 3, stride=2, padding=1)
        self.conv1 = torch.nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = torch.nn.Linear(16, classes)
        with torch.no_grad():
            self.fc.weight.mul_(20.0)

    def forward(self, x):
        x = F.relu(self.conv0(x))
        x = F.relu(self.conv1(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


class TinyCnnUint8(torch.nn.Module):
    """Takes the uint8 NHWC image itself, as exported models with the preprocessing inside do."""
    def __init__(self):
        super().__init__()
        self.body = TinyCnn(1, 1)

    def forward(self, x):
        return self.body(x.permute(0, 3, 1, 2).float() / 255.0)


def export(model, example, model_name, output_name):
    folder = os.path.join(REPO, model_name, "1")
    os.makedirs(folder, exist_ok=True)
    torch.onnx.export(model, example, os.path.join(folder, "model.onnx"), input_names=["image"],
                      output_names=[output_name], dynamic_axes={"image": {0: "batch"}, output_name: {0: "batch"}},
                      opset_version=13)


def write_config(model_name, config):
    with open(os.path.join(REPO, model_name, "classifier.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def floats(t):
    """float32 values printed with the 9 significant digits that read back to the same float32."""
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def ints(t):
    return [int(v) for v in t.reshape(-1).tolist()]


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)

    # tiny_cnn: FP32, NCHW, mean/std normalisation, softmax.
    cnn = TinyCnn(3, 2).eval()
    levels_rgb = torch.randint(0, 256, (3, 3, 32, 32), generator=gen)
    images = levels_rgb.float() / 255 * 2 - 1
    x01 = (images + 1) / 2
    model_input = (x01 - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    with torch.no_grad():
        logits = cnn(model_input)
    export(cnn, model_input, "tiny_cnn", "logits")
    write_config("tiny_cnn", {
        "input": {"name": "image", "datatype": "FP32", "layout": "NCHW", "channels": 3, "height": 32, "width": 32},
        "normalization": {"scale": 1.0, "mean": MEAN, "std": STD},
        "output": {"name": "logits", "activation": "softmax"},
        "class_labels": ["normal", "tumor"],
        "max_batch_size": 2,
    })

    # tiny_cnn_u8: UINT8, NHWC, grey, one logit. Images on the uint8 grid, so rounding has no ties.
    cnn_u8 = TinyCnnUint8().eval()
    levels = torch.randint(0, 256, (2, 1, 32, 32), generator=gen)
    images_u8 = levels.float() / 255 * 2 - 1
    u8_input = torch.round((images_u8 + 1) / 2 * 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    assert torch.equal(u8_input.permute(0, 3, 1, 2).long(), levels)
    with torch.no_grad():
        logit = cnn_u8(u8_input)
    export(cnn_u8, u8_input, "tiny_cnn_u8", "logit")
    write_config("tiny_cnn_u8", {
        "input": {"name": "image", "datatype": "UINT8", "layout": "NHWC", "channels": 1, "height": 32, "width": 32},
        "output": {"name": "logit", "activation": "sigmoid"},
        "class_labels": ["negative", "positive"],
        "max_batch_size": 8,
    })
    p = torch.sigmoid(logit)

    cases = {
        "generator_script": "tools/classifier/make_fixture.py",
        "torch": torch.__version__,
        "tiny_cnn": {
            "images_shape": list(images.shape), "image_levels": ints(levels_rgb),
            "outputs_shape": list(logits.shape), "outputs": floats(logits),
            "probabilities": floats(torch.softmax(logits, 1)),
        },
        "tiny_cnn_u8": {
            "images_shape": list(images_u8.shape), "image_levels": ints(levels),
            "model_input": ints(u8_input),
            "outputs_shape": list(logit.shape), "outputs": floats(logit),
            "probabilities": floats(torch.cat([1 - p, p], 1)),
        },
    }
    with open(os.path.join(ROOT, "cases.json"), "w") as f:
        json.dump(cases, f)
        f.write("\n")
    print("tiny_cnn probabilities", torch.softmax(logits, 1).tolist())
    print("tiny_cnn_u8 probabilities", torch.cat([1 - p, p], 1).tolist())


if __name__ == "__main__":
    main()
