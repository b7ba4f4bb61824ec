"""Run torch encoders through ONNX Runtime (several times faster on 2 CPU cores).

A module is exported once per weights fingerprint into the cache folder
(``$COVERSTORY_CACHE`` or ``~/.cache/coverstory/onnx``); after export, ONNX Runtime's
output is checked against eager torch on a fixed batch and the export is refused when
they differ by more than the tolerance. Exports are written to a temporary file of their
own and renamed into place, so processes exporting the same model at once (build steps
run side by side) never read a half-written file. Image encoders use :func:`onnx_session`;
MiniLM (``text_minilm.py``) exports its own graph with :func:`export_graph` and
:func:`quantize_int8`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from coverstory.encoders.base import default_threads, write_json_atomic

RTOL = 1e-3   # max |onnx - torch| <= RTOL * (1 + max |torch|)


def cache_dir() -> Path:
    from coverstory.config import cache_dir as shared_cache

    return shared_cache("onnx")


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
    with torch.no_grad():
        expected = module(x).numpy()
    with export_graph(module, (x,), path, input_names=["images"], output_names=["features"],
                      dynamic_axes={"images": {0: "n"}, "features": {0: "n"}}) as tmp:
        got = session(tmp).run(None, {"images": x.numpy()})[0]
        err = float(np.abs(got - expected).max())
        tol = RTOL * (1.0 + float(np.abs(expected).max()))
        check = {"encoder": encoder.name, "max_abs_diff": err, "tolerance": tol,
                 "ok": err <= tol}
        if not check["ok"]:
            raise RuntimeError(f"ONNX export of {encoder.name} differs from torch by "
                               f"{err:.2e} (> {tol:.2e}); use runtime 'torch' for this encoder")
    write_json_atomic(path.with_suffix(".json"), check)
    return check


@contextlib.contextmanager
def export_graph(module, args: tuple, path: Path, *, input_names: list[str],
                 output_names: list[str], dynamic_axes: dict):
    """``torch.onnx.export`` into a temporary file of this process; yields its path for
    checks, then renames it to ``path`` (it is deleted when the check raises)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".onnx.tmp")
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, args, tmp, input_names=input_names,
                              output_names=output_names, opset_version=17, dynamo=False,
                              dynamic_axes=dynamic_axes)
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def export_in_child(path: Path, module: str, *args: str, what: str = "the model") -> dict:
    """Make the export ``path`` by ``python -m MODULE ARGS...`` in a child process (which
    prints its check as the last JSON line), under a lock file beside ``path``: processes
    that need it at the same time (build steps side by side, a server) make it once (the
    others wait, then find it), and the caller never loads torch (a server that exported in
    its own process kept libtorch resident, ~0.6 GB). Returns the check (empty when another
    process made it)."""
    import fcntl
    import subprocess
    import sys

    from coverstory.errors import CoverstoryError

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)              # released when the file closes
        if path.exists():
            return {}
        proc = subprocess.run([sys.executable, "-m", module, *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not path.exists() or not lines:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise CoverstoryError(f"exporting {what} to ONNX failed (exit status "
                                  f"{proc.returncode}): {tail}")
        return json.loads(lines[-1])


def quantize_int8(src: Path, path: Path) -> Path:
    """Dynamic int8 quantisation of ``src`` (weights int8 per output channel, activations
    quantised at run time) into ``path`` (atomic); returns ``path``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".onnx.tmp")
    os.close(fd)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # "consider pre-processing" advice on every call
    try:
        quantize_dynamic(str(src), tmp, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, path)
    finally:
        root.setLevel(level)
        Path(tmp).unlink(missing_ok=True)
    return path


def session(path: Path, threads: int | None = None):
    """An ONNX Runtime CPU session with ``threads`` intra-op threads (default: the machine's,
    see :func:`coverstory.encoders.base.default_threads`)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or default_threads()
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


_session = session  # the name older callers use


def run_parallel(fn, batches: list, workers: int | None = None) -> list:
    """``[fn(b) for b in batches]`` over ``workers`` threads (default: the machine's threads),
    each calling a single-threaded session: on 2 cores two 1-thread runs of small batches
    beat one 2-thread run of big ones in development trials (figures of the result:
    docs/benchmarks/encoders-throughput.md). ONNX Runtime and PIL release the GIL."""
    workers = min(workers or default_threads(), len(batches))
    if workers <= 1:
        return [fn(b) for b in batches]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix="onnx") as ex:
        return list(ex.map(fn, batches))


def onnx_session(encoder):
    """The (memoised) single-threaded ONNX Runtime session for an image encoder, exporting
    it if needed (``encode`` runs several at once: :func:`run_parallel`)."""
    quick = _quick_fingerprint(encoder.module)
    cached = getattr(encoder, "_onnx_session", None)
    if cached is not None and cached[0] == quick:  # weights unchanged since the export
        return cached[1]
    key = hashlib.sha256(json.dumps(encoder.config, sort_keys=True, default=str).encode())
    key.update(weights_fingerprint(encoder.module).encode())
    path = cache_dir() / f"{encoder.name}-{key.hexdigest()[:12]}.onnx"
    if not path.exists():
        export(encoder, path)
    sess = session(path, threads=1)
    encoder._onnx_session = (quick, sess)
    return sess


def _quick_fingerprint(module) -> tuple:
    """Cheap weights summary (sums per tensor): notices in-place training or reloads."""
    import torch

    with torch.no_grad():
        return tuple(round(float(v.double().sum()), 6) if v.is_floating_point() else int(v.sum())
                     for v in module.state_dict().values())
