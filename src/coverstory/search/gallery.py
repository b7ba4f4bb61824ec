"""The cover gallery: one unit Lite0 vector per book with a cover, consistent with the
photo embedder (used by photo search, saved by ``coverstory build index``)."""

from __future__ import annotations

import time

from coverstory.artifacts import COVER_FEATURE
from coverstory.errors import NotBuilt


def gallery_vectors(svc, log=print, quick: bool = False, sample: int = 8,
                    max_embed: int | None = None):
    """(ids, unit Lite0 vectors, source) of every book with a cover; ``svc`` is a
    :class:`~coverstory.search.service.SearchService`.

    Uses the cached feature when it agrees with the photo embedder on ``sample`` covers
    (cosine >= 0.98); otherwise re-embeds the covers with it (unless there are more than
    ``max_embed`` covers: then it raises :class:`NotBuilt`, naming the command that does
    it once).
    """
    import numpy as np
    from PIL import Image

    from coverstory.search.embedders import Lite0Embedder

    covers = {b.id: b.cover_path for b in svc.books.values() if b.cover_path}
    emb = Lite0Embedder(svc.home)
    have_ids, have = np.zeros(0, np.int64), np.zeros((0, 1280), np.float32)
    source = "embedded with the photo embedder"
    got = svc.features(COVER_FEATURE, allow_compute=False)
    if got is not None:
        ids, vecs = got
        keep = np.asarray([int(i) in covers for i in ids.tolist()], bool)
        ids, vecs = ids[keep], vecs[keep]
        rng = np.random.default_rng(0)
        pick = rng.choice(len(ids), min(sample, len(ids)), replace=False) if len(ids) else []
        mine = emb([Image.open(covers[int(ids[i])]).convert("RGB") for i in pick])
        agree = float(np.min(np.sum(mine * vecs[pick], axis=1))) if len(mine) else 0.0
        if agree >= 0.98:
            have_ids, have = ids, vecs
            source = f"feature cache {COVER_FEATURE} (agreement {agree:.3f})"
        else:
            log(f"the cached {COVER_FEATURE} disagrees with the photo embedder (min cosine "
                f"{agree:.3f}); re-embedding the gallery")
    present = set(have_ids.tolist())
    todo = np.asarray(sorted(b for b in covers if b not in present), np.int64)
    if max_embed is not None and len(todo) > max_embed:
        if len(have_ids):
            log(f"{len(todo)} covers have no cached vector yet; searching the other "
                f"{len(have_ids)} (`coverstory build index` embeds the rest)")
            return have_ids, have, source + f", {len(todo)} covers missing"
        raise NotBuilt(f"no usable cover vectors for {len(todo)} covers in {svc.home}; run "
                       f"`coverstory --home {svc.home} build index` once")
    t = time.time()
    vecs = [have]
    for s in range(0, len(todo), 64):
        chunk = todo[s:s + 64]
        vecs.append(emb([Image.open(covers[int(i)]).convert("RGB") for i in chunk]))
        if (s // 64) % 40 == 0:
            log(f"gallery: {s + len(chunk)}/{len(todo)} covers embedded ({time.time() - t:.0f} s)")
    if len(todo):
        source += f" + {len(todo)} embedded now"
    ids = np.concatenate([have_ids, todo])
    order = np.argsort(ids, kind="stable")
    return ids[order], np.concatenate(vecs)[order], source
