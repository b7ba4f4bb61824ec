"""Run a torch image encoder through ONNX Runtime (several times faster on 2 CPU cores).

The module is exported once per weights fingerprint into the cache folder
(``$COVERSTORY_CACHE`` or ``~/.cache/coverstory/onnx``); after export, ONNX Runtime's
output is checked against eager torch on a fixed batch and the export is refused when
they differ by more than the tolerance.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

from coverstory.encoders.base import write_json_atomic

RTOL = 1e-3   # max |onnx - torch| <= RTOL * (1 + max |torch|)


def cache_dir() -> Path:
    root = os.environ.get("COVERSTORY_CACHE") or Path.home() / ".cache" / "coverstory"
    path = Path(root) / "onnx"
    path.mkdir(parents=True, exist_ok=True)
    return path


def weights_fingerprint(module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def export(encoder, path: Path) -> dict:
    """Export ``encoder.module`` to ``path`` and check it against torch; returns the check."""
    import torch

    module = encoder.module.eval()
    size = encoder.image_size
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, size, size, generator=gen)
    tmp = path.with_suffix(".onnx.tmp")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = module(x).numpy()
        torch.onnx.export(module, (x,), str(tmp), input_names=["images"],
                          output_names=["features"], opset_version=17, dynamo=False,
                          dynamic_axes={"images": {0: "n"}, "features": {0: "n"}})
    got = _session(tmp).run(None, {"images": x.numpy()})[0]
    err = float(np.abs(got - expected).max())
    tol = RTOL * (1.0 + float(np.abs(expected).max()))
    check = {"encoder": encoder.name, "max_abs_diff": err, "tolerance": tol, "ok": err <= tol}
    if not check["ok"]:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ONNX export of {encoder.name} differs from torch by {err:.2e} "
                           f"(> {tol:.2e}); use runtime 'torch' for this encoder")
    os.replace(tmp, path)
    write_json_atomic(path.with_suffix(".json"), check)
    return check


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(os.environ.get("COVERSTORY_THREADS", "2"))
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def onnx_session(encoder):
    """The (memoised) ONNX Runtime session for an image encoder, exporting it if needed."""
    quick = _quick_fingerprint(encoder.module)
    cached = getattr(encoder, "_onnx_session", None)
    if cached is not None and cached[0] == quick:  # weights unchanged since the export
        return cached[1]
    key = hashlib.sha256(json.dumps(encoder.config, sort_keys=True, default=str).encode())
    key.update(weights_fingerprint(encoder.module).encode())
    path = cache_dir() / f"{encoder.name}-{key.hexdigest()[:12]}.onnx"
    if not path.exists():
        export(encoder, path)
    session = _session(path)
    encoder._onnx_session = (quick, session)
    return session


def _quick_fingerprint(module) -> tuple:
    """Cheap weights summary (sums per tensor): notices in-place training or reloads."""
    import torch

    with torch.no_grad():
        return tuple(round(float(v.double().sum()), 6) if v.is_floating_point() else int(v.sum())
                     for v in module.state_dict().values())
