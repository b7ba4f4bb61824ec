"""Encoders as data: presets are small JSON files in ``encoders/presets/``; trained
encoders are folders (``config.json`` + ``weights.safetensors``) under
``<home>/models/encoders/<name>/``.

>>> [e["name"] for e in list_encoders()][:2]                 # doctest: +SKIP
['efficientnet-lite0.imagenet', 'efficientnet-lite0.random']
>>> get_encoder("efficientnet-lite0.imagenet").dim            # doctest: +SKIP
1280
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from coverstory.artifacts import models_dir
from coverstory.encoders.base import CONFIG_FILE, WEIGHTS_FILE, Encoder
from coverstory.registry import lookup

PRESETS_DIR = Path(__file__).with_name("presets")

# kind -> "module:Class"
KINDS: dict[str, str] = {
    "efficientnet_lite0": "coverstory.encoders.image_pretrained:EfficientNetLite0",
    "efficientnet_lite": "coverstory.encoders.image_pretrained:EfficientNetLite",
    "image_ensemble": "coverstory.encoders.image_ensemble:ImageEnsemble",
    "torchvision": "coverstory.encoders.image_cnn:TorchvisionCNN",
    "triple_cnn": "coverstory.encoders.image_cnn:TripleCNN",
    "vgg16_attention": "coverstory.encoders.image_cnn:VGG16Attention",
    "minilm": "coverstory.encoders.text_minilm:MiniLM",
    "word2vec_mean": "coverstory.encoders.text_rnn:Word2VecMean",
    "text_rnn": "coverstory.encoders.text_rnn:TextRNN",
    "mfcc_lstm": "coverstory.encoders.audio:MFCCLSTM",
}


class UnknownEncoder(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


def presets() -> dict[str, dict[str, Any]]:
    """name -> preset config, read from the JSON files."""
    out = {}
    for path in sorted(PRESETS_DIR.glob("*.json")):
        cfg = json.loads(path.read_text())
        out[cfg["name"]] = cfg
    return out


def encoder_class(kind: str) -> type[Encoder]:
    return lookup(KINDS, kind, "encoder kind", UnknownEncoder)


def build_encoder(config: dict[str, Any]) -> Encoder:
    """A fresh encoder from a config (random or packaged weights; nothing loaded)."""
    return encoder_class(config["kind"])(config)


def load_encoder(folder: str | os.PathLike) -> Encoder:
    """An encoder saved with ``Encoder.save(folder)``."""
    folder = Path(folder)
    cfg_path = folder / CONFIG_FILE
    if not cfg_path.exists():
        raise FileNotFoundError(f"no {CONFIG_FILE} in {folder}; is this an encoder folder?")
    cfg = json.loads(cfg_path.read_text())
    enc = build_encoder(cfg)
    if (folder / WEIGHTS_FILE).exists():
        enc.load_weights(folder)
    return enc


def trained_dir(home: str | os.PathLike | None) -> Path | None:
    """``<home>/models/encoders`` (without creating the home)."""
    if home is None:
        from coverstory.config import setting

        home = setting("home")
    path = models_dir(Path(home).expanduser()) / "encoders"
    return path


def get_encoder(name: str, home: str | os.PathLike | None = None) -> Encoder:
    """The encoder called ``name``: a preset, a trained encoder in the home, or a folder path."""
    p = Path(name)
    if (p / CONFIG_FILE).exists():
        return load_encoder(p)
    pre = presets()
    if name in pre:
        return build_encoder(pre[name])
    folder = trained_dir(home) / name
    if (folder / CONFIG_FILE).exists():
        return load_encoder(folder)
    known = sorted(pre) + [e["name"] for e in _trained(home)]
    raise UnknownEncoder(f"unknown encoder {name!r}; known: {', '.join(known)} "
                         "(see `coverstory encoders`)")


def encoder_config(name: str, home: str | os.PathLike | None = None) -> dict[str, Any]:
    """The config of an encoder without building it (cheap)."""
    pre = presets()
    if name in pre:
        return pre[name]
    path = trained_dir(home) / name / CONFIG_FILE
    if path.exists():
        return json.loads(path.read_text())
    if (Path(name) / CONFIG_FILE).exists():
        return json.loads((Path(name) / CONFIG_FILE).read_text())
    get_encoder(name, home)  # raises with the list of known names
    raise AssertionError


def _trained(home) -> list[dict[str, Any]]:
    root = trained_dir(home)
    if root is None or not root.is_dir():
        return []
    out = []
    for cfg in sorted(root.glob(f"*/{CONFIG_FILE}")):
        c = json.loads(cfg.read_text())
        c["source"] = "trained"
        c["path"] = str(cfg.parent)
        out.append(c)
    return out


def list_encoders(home: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Every preset and trained encoder: name, modality, dim, kind, description, available."""
    out = []
    for cfg in presets().values():
        c = dict(cfg, source="preset")
        c["available"], c["unavailable_reason"] = availability(cfg)
        out.append(c)
    for c in _trained(home):
        c["available"], c["unavailable_reason"] = True, None
        out.append(c)
    return out


def availability(cfg: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether an encoder can be built here (ImageNet torchvision weights may be absent)."""
    if cfg.get("kind") == "torchvision" and cfg.get("weights") == "imagenet":
        from coverstory.encoders.image_cnn import find_imagenet_weights

        path = cfg.get("weights_path") or find_imagenet_weights(cfg["arch"])
        if not path:
            return False, ("ImageNet weights not in the torch cache; put the torchvision "
                           "checkpoint there or set weights_path")
    return True, None
