"""CLI: ``coverstory encoders``, ``coverstory build features`` and ``coverstory build ocr``."""

from __future__ import annotations

from coverstory.errors import CommandError


def add_encoders_arguments(p) -> None:
    p.add_argument("--modality", choices=["image", "text", "audio"], help="only this modality")


def encoders(args) -> dict:
    """List every encoder (presets and trained) and which features are built in the home."""
    from coverstory.config import home_dir
    from coverstory.encoders.cache import built_features
    from coverstory.encoders.registry import list_encoders

    home = home_dir(getattr(args, "home", None))
    encs = list_encoders(home)
    if getattr(args, "modality", None):
        encs = [e for e in encs if e["modality"] == args.modality]
    built = built_features(home)
    by_enc: dict[str, list[str]] = {}
    for b in built:
        inp, enc = b["feature"].split("/", 1)
        by_enc.setdefault(enc, []).append(f"{inp} ({b['rows']})")
    lines = [f"{'name':34} {'modality':8} {'dim':>5}  built in {home}"]
    for e in encs:
        mark = "" if e["available"] else "  [unavailable: " + (e["unavailable_reason"] or "") + "]"
        lines.append(f"{e['name']:34} {e['modality']:8} {e['dim']:>5}  "
                     f"{', '.join(by_enc.get(e['name'], [])) or '-'}{mark}")
    extra = [b for b in built if b["feature"].split("/", 1)[1] not in {e["name"] for e in encs}]
    for b in extra:
        lines.append(f"{b['feature']:34} {'':8} {b['dim']:>5}  {b['rows']} rows")
    rows = [{k: e.get(k) for k in ("name", "modality", "dim", "kind", "source", "available",
                                   "unavailable_reason", "description")} for e in encs]
    return {"encoders": rows, "built": built, "home": str(home), "text": "\n".join(lines)}


def _features_for(names: list[str] | None, home) -> list[str]:
    from coverstory.encoders.cache import DEFAULT_FEATURES, split_feature
    from coverstory.encoders.registry import UnknownEncoder, encoder_config

    if not names:
        return list(DEFAULT_FEATURES)
    out = []
    for n in names:
        if "/" in n and not n.startswith(("/", ".")):
            try:
                split_feature(n)
            except ValueError as e:
                raise CommandError(str(e)) from e
            out.append(n)
            continue
        try:
            cfg = encoder_config(n, home)
        except UnknownEncoder as e:
            raise CommandError(str(e)) from e
        if cfg["modality"] == "image":
            out.append(f"cover/{cfg['name']}")
        elif cfg["modality"] == "text":
            out += [f"text/{cfg['name']}", f"title/{cfg['name']}"]
        else:
            raise CommandError(f"{n} is an {cfg['modality']} encoder; the catalog has no "
                               f"{cfg['modality']} input to build features from")
    return out


def build_features(args) -> dict:
    """Extract (cached) features of every book; only changed inputs are recomputed."""
    from coverstory.config import home_dir
    from coverstory.encoders.cache import update_features

    home = home_dir(getattr(args, "home", None))
    feats = _features_for(getattr(args, "encoder", None), home)
    limit = getattr(args, "limit", None) or (200 if getattr(args, "quick", False) else None)
    results = []
    for f in feats:
        try:
            results.append(update_features(home, f, force=bool(getattr(args, "force", False)),
                                           limit=limit))
        except (FileNotFoundError, ValueError) as e:
            raise CommandError(str(e)) from e
    return {"features": results, "text": "\n".join(r["text"] for r in results)}


def build_ocr(args) -> dict:
    """Read the text printed on every cover (cached per book + cover sha256)."""
    from coverstory.config import home_dir
    from coverstory.encoders.ocr import update_ocr

    home = home_dir(getattr(args, "home", None))
    limit = getattr(args, "limit", None) or (50 if getattr(args, "quick", False) else None)
    return update_ocr(home, limit=limit, force=bool(getattr(args, "force", False)))
