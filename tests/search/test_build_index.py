"""`coverstory build index` writes the indexes the service then loads."""

from __future__ import annotations

import json


def test_build_index_words_only_then_service_uses_it(tiny_home, capsys):
    from coverstory.cli import main
    from coverstory.search.service import SearchService

    code = main(["--home", str(tiny_home), "--json", "build", "index", "--method", "local-only"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    built = out["built"]["index"]
    assert built["bm25"]["books"] == 6 and built["cover_features"]["covers"] == 6
    folder = tiny_home / "indexes"
    assert (folder / "bm25.npz").exists() and (folder / "cover_features.npz").exists()
    svc = SearchService(tiny_home, log=lambda m: None)
    svc._vectors["text/minilm-l6.pretrained"] = None          # lexical lists only
    assert svc.books[svc.text("murder venice", k=1)[0].book_id].title == "Murder in Venice"
    assert len(svc.cover_features()) == 6
    # a second build is incremental: the saved cover words are reused, not re-read
    code = main(["--home", str(tiny_home), "--json", "build", "index", "--method", "local-only"])
    again = json.loads(capsys.readouterr().out)["built"]["index"]
    assert code == 0 and again["cover_features"]["covers"] == 6
