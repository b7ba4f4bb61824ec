"""``coverstory chat``, ``coverstory report`` and ``coverstory build intents``."""

from __future__ import annotations

import sys
import uuid


def add_chat_arguments(p) -> None:
    p.add_argument("--session", help="session id to continue (default: a new one)")
    p.add_argument("--policy", default="default",
                   help="dialogue policy: default, random-question, popular, or ab:ARM1,ARM2 "
                        "(A/B: one arm per session)")
    p.add_argument("--no-services", action="store_true",
                   help="do not load the search/recommend services (term index only)")


def chat(args) -> dict:
    """A REPL: type a message; '/photo PATH' sends a photo, '/like N', '/dislike N',
    '/read N' give feedback on the N-th book shown, '/quit' ends. Works with piped stdin."""
    from coverstory.cli import CommandError
    from coverstory.dialogue.engine import DialogueEngine
    from coverstory.errors import CoverstoryError

    kw = {"search": False, "recommend": False} if getattr(args, "no_services", False) else {}
    try:
        eng = DialogueEngine(getattr(args, "home", None), policy=args.policy, **kw)
    except ValueError as e:
        raise CommandError(str(e)) from e
    sid = args.session or uuid.uuid4().hex[:16]
    tty = sys.stdin.isatty()
    as_json = bool(getattr(args, "json", False))
    replies = []
    last: list[int] = []
    if tty:
        print(f"coverstory chat (session {sid}) — /photo PATH, /like N, /dislike N, /read N, /quit")
    while True:
        if tty:
            try:
                line = input("you> ")
            except EOFError:
                break
        else:
            line = sys.stdin.readline()
            if not line:
                break
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        try:
            if line.startswith("/photo "):
                path = line[len("/photo "):].strip()
                try:
                    data = open(path, "rb").read()
                except OSError as e:
                    print(f"bot> cannot read {path}: {e.strerror}", flush=True)
                    continue
                reply = eng.turn(sid, photo=data)
            elif line.split()[0] in ("/like", "/dislike", "/read"):
                kind, _, n = line[1:].partition(" ")
                try:
                    book = last[int(n) - 1]
                except (ValueError, IndexError):
                    print("bot> say which book: /like 1 is the first one shown", flush=True)
                    continue
                reply = eng.feedback(sid, book, kind)
            else:
                reply = eng.turn(sid, text=line)
        except (ValueError, CoverstoryError) as e:   # bad image, unknown book, not built yet
            print(f"bot> {e}", flush=True)
            continue
        replies.append(reply.to_dict())
        if reply.books:
            last = reply.book_ids
        if not as_json:
            print("bot> " + reply.text.replace("\n", "\n     "), flush=True)
            for i, b in enumerate(reply.books, 1):
                by = ", ".join(b["authors"][:2])
                year = f" ({b['year']})" if b["year"] else ""
                print(f"  {i}. {b['title']} — {by}{year}\n     {b['reason']}", flush=True)
    eng.close()
    return {"session_id": sid, "turns": len(replies), "replies": replies,
            "text": f"(session {sid}: {len(replies)} turns)"}


def add_report_arguments(p) -> None:
    p.add_argument("--since", help="only sessions created on/after this date (YYYY-MM-DD)")


def report(args) -> dict:
    """A/B report: per policy, sessions, acceptance rate, turns to acceptance, feedback."""
    from coverstory.catalog import Catalog
    from coverstory.dialogue.ab import ab_report
    from coverstory.tables import md_table

    cat = Catalog.open(getattr(args, "home", None))
    rows = ab_report(cat, since=getattr(args, "since", None))
    cat.close()
    text = ("Dialogue policies (A/B): sessions, accepted suggestions, turns to acceptance\n\n"
            + md_table(rows, ["policy", "sessions", "turns", "accepted", "acceptance_rate",
                              "mean_turns_to_accept", "likes", "dislikes", "reads"]))
    return {"policies": rows, "text": text}


def build_intents(args) -> dict:
    from coverstory.config import home_dir
    from coverstory.dialogue import intents

    return intents.build(home_dir(getattr(args, "home", None)))
