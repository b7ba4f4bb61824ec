"""RecommendService, online profiles and the CLI commands on the tiny catalog."""

from __future__ import annotations

import json

import numpy as np
import pytest

from coverstory.catalog import Catalog
from coverstory.recommend.profiles import load_profile
from coverstory.recommend.service import PROFILE_MODEL, RecommendService


def test_recommend_excludes_rated_and_explains(tiny_home):
    cat = Catalog.open(tiny_home)
    uid = cat.user_id("tiny:0")
    rated = {b for b, _ in cat.user_ratings(uid)}
    svc = RecommendService(tiny_home, fit_missing=True)
    hits = svc.recommend(uid, k=10)
    assert hits and not {h.book_id for h in hits} & rated
    assert all(h.reason and h.details["driver"] in ("collaborative", "content", "popularity")
               for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    some = hits[0].book_id
    assert some not in {h.book_id for h in svc.recommend(uid, k=10, exclude={some})}
    only = svc.recommend(uid, k=10, candidates=[some])
    assert [h.book_id for h in only] == [some]


def test_feedback_updates_profile_at_once(tiny_home):
    cat = Catalog.open(tiny_home)
    uid = cat.ensure_user("web:newcomer")
    svc = RecommendService(tiny_home, fit_missing=True)
    first = svc.recommend(uid, k=3)
    assert first[0].details["driver"] == "popularity"
    liked = first[0].book_id
    svc.feedback(uid, liked, "like")
    assert dict(cat.user_ratings(uid))[liked] == 5.0
    assert [e["kind"] for e in cat.events(user_id=uid)] == ["like"]
    prof = load_profile(cat, uid, PROFILE_MODEL)
    assert prof is not None and prof[1]["n"] == 1 and np.isfinite(prof[0]).all()
    after = svc.recommend(uid, k=5)
    assert liked not in {h.book_id for h in after}
    assert any(h.details["driver"] != "popularity" for h in after)
    svc.feedback(uid, after[0].book_id, "dislike")
    prof2 = load_profile(cat, uid, PROFILE_MODEL)
    assert prof2[1]["ratings"] != prof[1]["ratings"]
    with pytest.raises(ValueError):
        svc.feedback(uid, liked, "love")
    with pytest.raises(ValueError):
        svc.feedback(uid, 99999, "like")


def test_score_and_similar(tiny_home):
    svc = RecommendService(tiny_home, fit_missing=True)
    uid = Catalog.open(tiny_home).user_id("tiny:1")
    s = svc.score(uid, [1, 2, 99999])
    assert s.dtype == np.float32 and s.shape == (3,) and s[2] == -1e6
    sims = svc.similar_items(1, k=3)
    assert sims and 1 not in {h.book_id for h in sims}


def test_build_then_cli(tiny_home, capsys):
    from coverstory.cli import main

    assert main(["--home", str(tiny_home), "--json", "build", "recommender"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (tiny_home / "models" / "recommender" / "config.json").exists()
    assert out["built"]["recommender"]["books"] == 6
    svc = RecommendService(tiny_home)
    svc.model
    assert svc.stamp != "light"
    assert main(["--home", str(tiny_home), "--json", "rate", "web:cli", "2", "like"]) == 0
    capsys.readouterr()
    assert main(["--home", str(tiny_home), "--json", "recommend", "web:cli", "-k", "3"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert len(rec["hits"]) == 3 and 2 not in [h["book_id"] for h in rec["hits"]]
    assert main(["--home", str(tiny_home), "recommend", "web:nobody"]) == 2
    assert main(["--home", str(tiny_home), "rate", "web:cli", "2", "7"]) == 2


def test_without_a_saved_model_nothing_is_fitted(tiny_home, monkeypatch):
    """No saved recommender: popular unseen books, no profile, feedback saved without a
    fold-in; nothing is ever fitted."""
    import coverstory.recommend.service as service

    def no_fit(*a, **k):
        raise AssertionError("a request fitted a model")

    monkeypatch.setattr(service, "fit_catalog_model", no_fit)
    cat = Catalog.open(tiny_home)
    uid = cat.user_id("tiny:0")
    rated = {b for b, _ in cat.user_ratings(uid)}
    svc = RecommendService(tiny_home)
    hits = svc.recommend(uid, k=10)
    assert svc.model is None and svc.missing
    assert hits and not {h.book_id for h in hits} & rated
    assert all(h.details["driver"] == "popularity" for h in hits)
    counts = cat.rating_counts(min_rating=4.0)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].score == max(counts.get(b, 0) for b in cat.book_ids() if b not in rated)
    newcomer = cat.ensure_user("web:nomodel")
    svc.feedback(newcomer, hits[0].book_id, "like")
    assert dict(cat.user_ratings(newcomer))[hits[0].book_id] == 5.0
    assert load_profile(cat, newcomer, PROFILE_MODEL) is None
    assert (svc.score(newcomer, [1, 2]) == -1e6).all()
    assert svc.similar_items(1, k=3) == []
    assert hits[0].book_id not in {h.book_id for h in svc.recommend(newcomer, k=10)}


def test_a_saved_model_is_used_once_built(tiny_home):
    from coverstory.cli import main

    assert main(["--home", str(tiny_home), "build", "recommender"]) == 0
    svc = RecommendService(tiny_home)
    assert svc.model is not None and not svc.missing and svc.stamp not in ("none", "light")
    uid = Catalog.open(tiny_home).ensure_user("web:withmodel")
    svc.feedback(uid, 2, "like")
    assert load_profile(Catalog.open(tiny_home), uid, PROFILE_MODEL) is not None
