"""torchvision CNN backbones as cover encoders, the triple-CNN ensemble and VGG16 with
attention re-weighting.

Offline there are no ImageNet weights for torchvision: an encoder named ``<arch>.random``
starts from random weights (seeded, so the same name always means the same weights) and
becomes useful through self-supervised training (``coverstory train ssl``), which saves it
as ``<arch>.ssl-<hash>``. ``<arch>.imagenet`` loads the torchvision checkpoint from the torch
cache (``~/.cache/torch/hub/checkpoints``) or ``weights_path`` and refuses to build when
neither is there.
"""

from __future__ import annotations

from pathlib import Path

from coverstory.encoders.images import TorchImageEncoder

# arch -> (torchvision constructor, feature dim, checkpoint file prefix in the torch cache)
ARCHS: dict[str, tuple[str, int, str]] = {
    "resnet50": ("resnet50", 2048, "resnet50-"),
    "mobilenetv2": ("mobilenet_v2", 1280, "mobilenet_v2-"),
    "efficientnetb0": ("efficientnet_b0", 1280, "efficientnet_b0"),
    "vgg16": ("vgg16", 512, "vgg16-"),
}


def find_imagenet_weights(arch: str) -> str | None:
    """A torchvision ImageNet checkpoint for ``arch`` in the torch cache, if any."""
    import os

    root = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub" / "checkpoints"
    if not root.is_dir():
        return None
    prefix = ARCHS[arch][2]
    hits = sorted(p for p in root.glob(f"{prefix}*.pth"))
    return str(hits[0]) if hits else None


def backbone(arch: str, weights: str = "random", weights_path: str | None = None,
             seed: int = 0):
    """A torchvision backbone: [n, 3, S, S] -> [n, dim] global-average-pooled features."""
    import torch
    import torchvision
    from torch import nn

    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; known: {sorted(ARCHS)}")
    ctor, dim, _ = ARCHS[arch]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = getattr(torchvision.models, ctor)(weights=None)
    if weights == "imagenet":
        path = weights_path or find_imagenet_weights(arch)
        if not path or not Path(path).exists():
            raise FileNotFoundError(
                f"no ImageNet weights for {arch}: put torchvision's checkpoint in "
                f"~/.cache/torch/hub/checkpoints or give weights_path; offline, use "
                f"'{arch}.random' and train it with `coverstory train ssl --encoder {arch}.random`")
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    elif weights not in ("random", "ssl"):  # "ssl": trained weights are loaded afterwards
        raise ValueError(f"weights must be 'random', 'imagenet' or 'ssl', got {weights!r}")
    pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    if arch == "resnet50":
        net.fc = nn.Identity()
        return net
    return nn.Sequential(net.features, pool)


class TorchvisionCNN(TorchImageEncoder):
    """ResNet50 / MobileNetV2 / EfficientNetB0 / VGG16 pooled features (config ``arch``)."""

    def build_module(self):
        return backbone(self.config["arch"], self.config.get("weights", "random"),
                        self.config.get("weights_path"), int(self.config.get("seed", 0)))


class TripleCNN(TorchImageEncoder):
    """ResNet50 + MobileNetV2 + EfficientNetB0: each L2-normalised, concatenated, projected."""

    def build_module(self):
        import torch
        from torch import nn
        from torch.nn import functional as F

        dim = self.dim
        seed = int(self.config.get("seed", 0))
        weights = self.config.get("weights", "random")

        class Triple(nn.Module):
            def __init__(self):
                super().__init__()
                self.backbones = nn.ModuleList(
                    [backbone(a, weights, seed=seed + i)
                     for i, a in enumerate(("resnet50", "mobilenetv2", "efficientnetb0"))])
                with torch.random.fork_rng():
                    torch.manual_seed(seed + 10)
                    self.proj = nn.Linear(2048 + 1280 + 1280, dim)

            def forward(self, x):
                parts = [F.normalize(b(x), dim=1) for b in self.backbones]
                return self.proj(torch.cat(parts, dim=1))

        return Triple()


class VGG16Attention(TorchImageEncoder):
    """VGG16 pooled features v re-weighted by learned per-feature gates: v' = v + q * v,
    q = sigmoid(MLP(v))."""

    def build_module(self):
        import torch
        from torch import nn

        hidden = int(self.config.get("hidden", 128))
        seed = int(self.config.get("seed", 0))
        weights = self.config.get("weights", "random")

        class VGGAttn(nn.Module):
            def __init__(self):
                super().__init__()
                self.vgg = backbone("vgg16", weights, seed=seed)
                with torch.random.fork_rng():
                    torch.manual_seed(seed + 10)
                    self.gate = nn.Sequential(nn.Linear(512, hidden), nn.ReLU(),
                                              nn.Linear(hidden, 512), nn.Sigmoid())

            def weights(self, x):
                """(v, q): pooled features and their attention weights."""
                v = self.vgg(x)
                return v, self.gate(v)

            def forward(self, x):
                v, q = self.weights(x)
                return v + q * v

        return VGGAttn()

    def attention(self, items) -> "np.ndarray":  # noqa: F821
        """The per-feature attention weights q [n, 512] for a list of images."""
        import torch

        self.module.eval()
        with torch.no_grad():
            return self.module.weights(self.prepare(items))[1].numpy()
