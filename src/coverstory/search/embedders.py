"""Image embedders for photo search: the gallery and the query must use the same one.

The base is EfficientNet-Lite0 with ImageNet weights — the module and preprocessing of the
encoder ``efficientnet-lite0.imagenet`` (cached gallery feature
``cover/efficientnet-lite0.imagenet``) — run by ONNX Runtime from a private export under
``<home>/models/photo/`` that is checked against eager torch on real covers when written
(a shared export cache written by several processes at once proved unreliable).

``coverstory build index`` checks that the cached gallery feature agrees with this
embedder on a sample of covers and re-embeds the gallery when it does not. When a photo
head has been trained (``<home>/models/photo_head/``, :mod:`coverstory.search.photo_head`)
it is applied to both sides.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

BASE_ENCODER = "efficientnet-lite0.imagenet"
BASE_FEATURE = f"cover/{BASE_ENCODER}"
HEAD_DIR = ("models", "photo_head")
ONNX_FILE = ("models", "photo", "lite0.onnx")
TOLERANCE = 1e-3


class Lite0Embedder:
    """RGB images -> unit 1280-d Lite0 vectors, identical to the cached cover feature."""

    def __init__(self, home, threads: int | None = None):
        from coverstory.encoders.base import default_threads
        from coverstory.encoders.registry import encoder_config

        self.home = Path(home)
        self.config = encoder_config(BASE_ENCODER, home)
        self.path = self.home.joinpath(*ONNX_FILE)
        self.threads = threads or default_threads()
        self._session = None
        self._encoder = None

    @property
    def encoder(self):
        """The torch encoder (built only to export or to compare: a server whose export
        exists never imports torch)."""
        if self._encoder is None:
            from coverstory.encoders.registry import get_encoder

            self._encoder = get_encoder(BASE_ENCODER, self.home)
        return self._encoder

    @property
    def session(self):
        if self._session is None:
            import onnxruntime as ort

            if not self.path.exists():
                from coverstory.encoders.onnx_runtime import export_in_child

                # in a child process, once: a server never loads torch for it (its first
                # "books like X" between the cover features and the vector indexes steps
                # of the background build exported it in-process: libtorch stayed resident)
                export_in_child(self.path, __name__, str(self.home), what="Lite0")
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            self._session = ort.InferenceSession(str(self.path), opts,
                                                 providers=["CPUExecutionProvider"])
        return self._session

    def arrays(self, images) -> np.ndarray:
        from PIL import Image

        from coverstory.encoders.images import IMAGENET_MEAN, IMAGENET_STD, image_array

        items = [Image.fromarray(a) if isinstance(a, np.ndarray) else a for a in images]
        cfg = self.config         # the encoder's own preprocessing (TorchImageEncoder.arrays)
        return image_array(items, int(cfg.get("image_size", 224)), cfg.get("mean", IMAGENET_MEAN),
                           cfg.get("std", IMAGENET_STD))

    def __call__(self, images, batch_size: int = 16) -> np.ndarray:
        from coverstory.index import normalize

        images = list(images)
        out = [self.session.run(None, {"images": self.arrays(images[i:i + batch_size])})[0]
               for i in range(0, len(images), batch_size)]
        if not out:
            return np.zeros((0, 1280), np.float32)
        return normalize(np.concatenate(out))

    def torch(self, images) -> np.ndarray:
        from coverstory.index import normalize

        from PIL import Image

        items = [Image.fromarray(a) if isinstance(a, np.ndarray) else a for a in images]
        return normalize(self.encoder.torch_encode(items))

    def export(self, sample=None) -> dict:
        """Export the torch module to ONNX (unique temp file + check + atomic rename);
        returns the check."""
        import torch

        module = self.encoder.module.eval()
        if hasattr(module, "set_swish_for_export"):
            module.set_swish_for_export()
        size = self.encoder.image_size
        x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".onnx.tmp")
        os.close(fd)
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                want = module(x).numpy()
                torch.onnx.export(module, (x,), tmp, input_names=["images"],
                                  output_names=["features"], opset_version=17, dynamo=False,
                                  dynamic_axes={"images": {0: "n"}, "features": {0: "n"}})
            import onnxruntime as ort

            got = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"]).run(
                None, {"images": x.numpy()})[0]
            err = float(np.abs(got - want).max())
            if err > TOLERANCE * (1 + float(np.abs(want).max())):
                raise RuntimeError(f"ONNX export of Lite0 differs from torch by {err:.2e}")
            os.replace(tmp, self.path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return {"encoder": BASE_ENCODER, "max_abs_diff": err}


def photo_embedder(home):
    """(embed function, PhotoHead or None) for photo search in ``home``."""
    from coverstory.search.photo_head import PhotoHead

    embed = Lite0Embedder(home)
    head_dir = Path(home).joinpath(*HEAD_DIR)
    if PhotoHead.exists(head_dir):
        head = PhotoHead.load(head_dir)
        return (lambda images: head.project(embed(images))), head
    return embed, None


if __name__ == "__main__":      # the export child of Lite0Embedder.session: HOME
    import json as _json
    import sys as _sys

    print(_json.dumps(Lite0Embedder(_sys.argv[1]).export()), flush=True)
