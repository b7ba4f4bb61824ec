"""The feature cache: one vector per book per feature, reused until the input changes.

A feature is named ``"<input>/<encoder name>"`` (``cover/efficientnet-lite0.imagenet``,
``text/minilm-l6.pretrained``). Each is stored as one safetensors file
``<home>/features/<input>/<encoder>.safetensors`` holding ``ids`` (int64) and ``vectors``
(float32), with the content hash of each row's input (cover sha256 or text hash) in the
file's metadata, plus a readable ``.json`` summary. Writes are atomic (write + rename),
so readers never see half a file. A re-run only encodes books whose hash changed.

The metadata also records the encoder's *identity* (``Encoder.identity_of``: the name, plus
e.g. ``[onnx-int8]`` for a quantised runtime). When the encoder now configured under that
name has another identity, every row is encoded again: vectors of two encoders are never
mixed in one file. Files written before identities were recorded count as the name's.

>>> ids, vecs = load_features(home, "cover/efficientnet-lite0.imagenet")   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from coverstory.artifacts import COVER_FEATURE, TEXT_FEATURE, TITLE_FEATURE
from coverstory.encoders.base import write_json_atomic

FEATURES_DIR = "features"

# input name -> modality of the encoder it needs
INPUTS: dict[str, str] = {
    "cover": "image",        # the cover image file
    "text": "text",          # Book.text(): title, author, tags/categories, description
    "title": "text",         # "title by author"
    "description": "text",   # the description alone (books that have one)
    "ocr": "text",           # text read from the cover (`coverstory build ocr` first)
}
DEFAULT_FEATURES = (COVER_FEATURE, TEXT_FEATURE, TITLE_FEATURE)


def split_feature(feature: str) -> tuple[str, str]:
    if "/" not in feature:
        raise ValueError(f"a feature is named '<input>/<encoder>', e.g. "
                         f"'cover/efficientnet-lite0.imagenet'; got {feature!r}")
    inp, enc = feature.split("/", 1)
    if inp not in INPUTS and inp != "fused":
        raise ValueError(f"unknown feature input {inp!r}; inputs: {sorted(INPUTS)} (or fused)")
    return inp, enc


def feature_path(home: str | os.PathLike, feature: str) -> Path:
    inp, enc = split_feature(feature)
    return Path(home) / FEATURES_DIR / inp / f"{enc}.safetensors"


_MEMO: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray, dict]] = {}


def _read(path: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    from safetensors import safe_open

    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key in _MEMO:
        return _MEMO[key]
    with safe_open(str(path), framework="numpy") as f:
        meta = dict(f.metadata() or {})
        ids = f.get_tensor("ids").astype(np.int64)
        vecs = f.get_tensor("vectors").astype(np.float32, copy=False)
    for k in list(_MEMO):
        if k[0] == str(path):
            del _MEMO[k]
    _MEMO[key] = (ids, vecs, meta)
    return ids, vecs, meta


def load_features(home: str | os.PathLike, feature: str) -> tuple[np.ndarray, np.ndarray]:
    """(ids int64 [n], vectors float32 [n, d]) of a built feature, rows ordered by book id.

    Raises FileNotFoundError naming the build command when the feature is not built.
    """
    path = feature_path(home, feature)
    if not path.exists():
        _, enc = split_feature(feature)
        raise FileNotFoundError(
            f"feature {feature!r} is not built in {home}; run "
            f"`coverstory --home {home} build features --encoder {enc}`")
    ids, vecs, _ = _read(path)
    return ids.copy(), vecs.copy()


def stored_identity(home: str | os.PathLike, feature: str) -> str | None:
    """The identity of the encoder that wrote a built feature (None when not built)."""
    path = feature_path(home, feature)
    if not path.exists():
        return None
    _, _, meta = _read(path)
    return meta.get("identity") or split_feature(feature)[1]


def stored_hashes(home: str | os.PathLike, feature: str) -> dict[int, str]:
    """book id -> content hash of the stored row (empty when not built)."""
    path = feature_path(home, feature)
    if not path.exists():
        return {}
    ids, _, meta = _read(path)
    hashes = json.loads(meta.get("hashes", "[]"))
    return dict(zip(ids.tolist(), hashes))


def save_features(home: str | os.PathLike, feature: str, ids: np.ndarray, vectors: np.ndarray,
                  hashes: list[str], info: dict[str, Any] | None = None,
                  identity: str | None = None) -> Path:
    """Write a feature atomically (rows sorted by id); ``identity``: of the encoder that
    computed the rows (default: the encoder's name)."""
    from safetensors.numpy import save_file

    ids = np.asarray(ids, np.int64)
    vectors = np.asarray(vectors, np.float32)
    if len(ids) != len(vectors) or len(ids) != len(hashes):
        raise ValueError("ids, vectors and hashes must have the same length")
    order = np.argsort(ids, kind="stable")
    ids, vectors = ids[order], vectors[order]
    hashes = [hashes[i] for i in order]
    path = feature_path(home, feature)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    identity = identity or split_feature(feature)[1]
    meta = {"feature": feature, "dim": str(vectors.shape[1] if vectors.ndim == 2 else 0),
            "hashes": json.dumps(hashes), "identity": identity}
    save_file({"ids": ids, "vectors": np.ascontiguousarray(vectors)}, str(tmp), metadata=meta)
    os.replace(tmp, path)
    summary = {"feature": feature, "rows": int(len(ids)),
               "dim": int(vectors.shape[1]) if vectors.ndim == 2 else 0,
               "identity": identity, "updated": time.strftime("%Y-%m-%d %H:%M:%S"),
               **(info or {})}
    write_json_atomic(path.with_suffix(".json"), summary)
    return path


def built_features(home: str | os.PathLike) -> list[dict[str, Any]]:
    """Summaries (``.json``) of every built feature in the home."""
    root = Path(home) / FEATURES_DIR
    out = []
    for p in sorted(root.glob("*/*.json")):
        if p.name.endswith(".failed.json"):
            continue
        try:
            out.append(json.loads(p.read_text()))
        except (OSError, json.JSONDecodeError):
            continue
    return out


# ---- inputs -----------------------------------------------------------------------------
def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def title_text(book) -> str:
    return f"{book.title} by {book.author}" if book.authors else book.title


def book_inputs(books: list, inp: str, ocr: dict[int, tuple[str, str]] | None = None
                ) -> list[tuple[int, Any, str]]:
    """(book id, item, content hash) for every book that has this input."""
    out = []
    for b in books:
        if inp == "cover":
            if not b.cover_path:
                continue
            out.append((b.id, b.cover_path, b.cover_sha256 or _file_hash(b.cover_path)))
        elif inp == "text":
            t = b.text()
            out.append((b.id, t, text_hash(t)))
        elif inp == "title":
            t = title_text(b)
            out.append((b.id, t, text_hash(t)))
        elif inp == "description":
            if b.description and b.description.strip():
                out.append((b.id, b.description, text_hash(b.description)))
        elif inp == "ocr":
            t = (ocr or {}).get(b.id, (None, ""))[1]
            if t and t.strip():
                out.append((b.id, t, text_hash(t)))
        else:
            raise ValueError(f"unknown input {inp!r}")
    return out


def _file_hash(path: str) -> str:
    from coverstory.catalog.store import sha256_file

    try:
        return sha256_file(path)
    except OSError:
        return "missing"


# ---- building ---------------------------------------------------------------------------
def update_features(home: str | os.PathLike, feature: str, *, encoder=None,
                    force: bool = False, limit: int | None = None, batch_size: int = 32,
                    progress: bool = True, save_every: int = 4096,
                    log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Bring one feature up to date with the catalog; returns counts and seconds.

    Only books whose input hash differs from the stored one are encoded; rows of books that
    lost their input (or left the catalog) are dropped. Inputs that cannot be read (a
    broken image file) are recorded in ``<feature>.failed.json`` and skipped on re-runs.
    """
    from coverstory.catalog import Catalog
    from coverstory.encoders.registry import encoder_class, encoder_config, get_encoder

    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    t0 = time.time()
    home = Path(home)
    inp, enc_name = split_feature(feature)
    cfg = encoder_config(enc_name, home)
    if cfg["modality"] != INPUTS[inp]:
        raise ValueError(f"encoder {enc_name!r} is a {cfg['modality']} encoder; input {inp!r} "
                         f"needs a {INPUTS[inp]} encoder")
    identity = (encoder.identity if encoder is not None
                else encoder_class(cfg["kind"]).identity_of(cfg))
    cat = Catalog.open(home)
    try:
        books = cat.books()
        ocr = cat.ocr_texts("rapidocr") if inp == "ocr" else None
    finally:
        cat.close()
    if limit:
        books = books[:limit]
    items = book_inputs(books, inp, ocr)
    path = feature_path(home, feature)
    failed_path = path.with_name(path.stem + ".failed.json")

    old: dict[int, tuple[np.ndarray, str]] = {}
    rebuilt_from = None
    if path.exists():
        ids, vecs, meta = _read(path)
        built_by = meta.get("identity") or enc_name
        if built_by == identity:
            for i, v, h in zip(ids.tolist(), vecs, json.loads(meta.get("hashes", "[]"))):
                old[i] = (v, h)
        else:  # another encoder's vectors: never mixed with this one's
            rebuilt_from = built_by
            log(f"{feature}: its {len(ids)} rows were computed by {built_by}; the encoder is "
                f"now {identity}: encoding every book again")
    failed = {} if force or not failed_path.exists() else {
        int(k): v for k, v in json.loads(failed_path.read_text()).items()}

    keep: dict[int, tuple[np.ndarray, str]] = {}
    todo: list[tuple[int, Any, str]] = []
    skipped = 0
    for bid, item, h in items:
        if not force and bid in old and old[bid][1] == h:
            keep[bid] = old[bid]
        elif failed.get(bid) == h:
            skipped += 1
        else:
            todo.append((bid, item, h))
    in_scope = {bid for bid, _, _ in items}
    removed = 0 if limit else sum(1 for bid in old if bid not in in_scope)
    if limit:  # a slice must not drop the rows of books outside it
        for bid, row in old.items():
            if bid not in in_scope:
                keep[bid] = row

    if not todo and removed == 0 and path.exists() and rebuilt_from is None:
        return {"feature": feature, "rows": len(keep), "computed": 0, "reused": len(keep),
                "removed": 0, "failed": skipped, "seconds": round(time.time() - t0, 2),
                "text": f"{feature}: up to date ({len(keep)} rows)"}

    enc = encoder or get_encoder(enc_name, home)
    if enc.modality == "text":
        # short texts first, saved often: an interrupted build still covers most books
        todo.sort(key=lambda t: len(t[1]))
        save_every = min(save_every, 1024)
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=feature, unit="book", dynamic_ncols=True)
    new_failed: dict[int, str] = {}
    since_save = 0
    reused_members = 0
    if todo and getattr(enc, "members", None):
        # an ensemble: rows whose every member vector is cached for the same input are
        # combined from those, not encoded again
        got = _from_member_caches(home, inp, enc, todo)
        if got:
            for bid, _, h in todo:
                if bid in got:
                    keep[bid] = (got[bid], h)
            todo = [t for t in todo if t[0] not in got]
            reused_members = len(got)
            log(f"{feature}: {reused_members} rows combined from the members' cached features")
            if bar is not None:
                bar.update(reused_members)

    def flush() -> None:
        bids = list(keep)
        vecs = (np.stack([keep[b][0] for b in bids]) if bids
                else np.zeros((0, enc.dim), np.float32))
        save_features(home, feature, np.asarray(bids, np.int64), vecs,
                      [keep[b][1] for b in bids],
                      {"encoder": enc_name, "input": inp, "modality": enc.modality,
                       "failed": len(new_failed) + skipped}, identity=identity)
        if new_failed or failed:
            write_json_atomic(failed_path, {str(k): v for k, v in {**failed, **new_failed}.items()})

    # text encoders get bigger chunks: sentence-transformers sorts a chunk by length, so
    # short and long texts are not padded to each other
    step = batch_size * 16 if enc.modality == "text" else batch_size
    for s in range(0, len(todo), step):
        chunk = todo[s:s + step]
        try:
            vecs = enc.encode([c[1] for c in chunk], batch_size=batch_size)
            good = chunk
        except (OSError, ValueError, SyntaxError) as e:
            # one unreadable input: encode the batch one by one and record the failures
            good, rows = [], []
            for c in chunk:
                try:
                    rows.append(enc.encode([c[1]], batch_size=1)[0])
                    good.append(c)
                except (OSError, ValueError, SyntaxError) as e1:
                    new_failed[c[0]] = c[2]
                    log(f"{feature}: skipping book {c[0]} ({type(e1).__name__}: {e1})")
            vecs = np.stack(rows) if rows else np.zeros((0, enc.dim), np.float32)
            del e
        for (bid, _, h), v in zip(good, vecs):
            keep[bid] = (np.asarray(v, np.float32), h)
        since_save += len(chunk)
        if bar is not None:
            bar.update(len(chunk))
        if since_save >= save_every:
            flush()
            since_save = 0
    if bar is not None:
        bar.close()
    flush()
    computed = len(todo) - len(new_failed) + reused_members
    secs = time.time() - t0
    return {"feature": feature, "rows": len(keep), "computed": computed,
            "reused": len(keep) - computed, "removed": removed,
            "failed": len(new_failed) + skipped, "seconds": round(secs, 2),
            "identity": identity, "replaced": rebuilt_from,
            "text": (f"{feature}: {len(keep)} rows ({computed} computed, "
                     f"{len(keep) - computed} reused, {removed} removed, "
                     f"{len(new_failed) + skipped} failed) in {secs:.1f} s"
                     + (f"; replaced the rows of {rebuilt_from}" if rebuilt_from else ""))}


def _from_member_caches(home: Path, inp: str, enc, todo) -> dict[int, np.ndarray]:
    """{book id: ensemble vector} for the rows of ``todo`` whose every member feature
    (``<inp>/<member>``, built by the same member identity) holds a vector of the same
    input hash."""
    from coverstory.encoders.image_ensemble import combine_members
    from coverstory.encoders.registry import encoder_class, encoder_config

    need = {bid: h for bid, _, h in todo}
    per_member = []
    for m in enc.members:
        path = feature_path(home, f"{inp}/{m}")
        if not path.exists():
            return {}
        ids, vecs, meta = _read(path)
        mcfg = encoder_config(m, home)
        if (meta.get("identity") or m) != encoder_class(mcfg["kind"]).identity_of(mcfg):
            return {}
        hashes = json.loads(meta.get("hashes", "[]"))
        per_member.append({int(i): r for r, (i, h) in enumerate(zip(ids.tolist(), hashes))
                           if need.get(int(i)) == h})
        per_member[-1]["_vecs"] = vecs
    common = set(need)
    for rows in per_member:
        common &= set(k for k in rows if k != "_vecs")
    if not common:
        return {}
    order = sorted(common)
    parts = [rows["_vecs"][[rows[b] for b in order]] for rows in per_member]
    out = combine_members(parts, enc.combine, enc.member_weights)
    return {b: out[i] for i, b in enumerate(order)}
