"""The ``coverstory`` command line.

Commands live in small ``commands`` modules next to the library code they call; this
file only maps names to them, so ``coverstory --help`` imports nothing heavy. A command
module defines ``add_<name>_arguments(parser)`` (optional) and ``<name>(args) -> dict``;
with ``--json`` the returned dict is printed as one JSON object on stdout
(keys documented in docs/cli.md), otherwise its ``"text"`` entry (or the dict) is shown.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

# name -> (module, function, help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "import": ("coverstory.catalog.commands", "import_", "import books, covers and ratings"),
    "info": ("coverstory.catalog.commands", "info", "catalog counts and what has been built"),
    "user-data": ("coverstory.catalog.commands", "user_data",
                  "everything kept about one reader"),
    "forget": ("coverstory.catalog.commands", "forget",
               "erase one reader's data (ratings, events, profiles, chats)"),
    "purge-chats": ("coverstory.catalog.commands", "purge_chats",
                    "delete chat turns older than the retention setting"),
    "encoders": ("coverstory.encoders.commands", "encoders", "list encoders and what is built"),
    "build": ("coverstory.build", "build", "build features, OCR, models and indexes"),
    "train": ("coverstory.train.commands", "train", "train an encoder or a fusion model"),
    "search": ("coverstory.search.commands", "search", "search the catalog by text or photo"),
    "similar": ("coverstory.search.commands", "similar", "books like a given book"),
    "recommend": ("coverstory.recommend.commands", "recommend", "recommendations for a reader"),
    "rate": ("coverstory.recommend.commands", "rate", "record a reader's rating or feedback"),
    "chat": ("coverstory.dialogue.commands", "chat", "talk to coverstory in the terminal"),
    "report": ("coverstory.dialogue.commands", "report", "A/B report of dialogue policies"),
    "serve": ("coverstory.serve.commands", "serve", "start the HTTP API and web chat page"),
    "bench": ("coverstory.benchmarks.commands", "bench",
              "run a benchmark; reports go where --out says"),
}


from coverstory.errors import CommandError, CoverstoryError  # noqa: E402,F401  (CommandError re-exported)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coverstory",
        description="A multimodal book recommendation chatbot.",
    )
    parser.add_argument("--home", help="data home (default $COVERSTORY_HOME or ./.coverstory)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, func, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print one JSON object on stdout")
        p.add_argument("--home", default=argparse.SUPPRESS, help="data home")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if not e.name or not e.name.startswith("coverstory"):
                raise
            p.set_defaults(_missing=module)
            continue
        adder = getattr(mod, f"add_{func.rstrip('_')}_arguments", None)
        if adder is not None:
            adder(p)
        p.set_defaults(_run=getattr(mod, func))
    return parser


def no_abbreviations(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Recognise long options only when spelled in full, in ``parser`` and every sub-parser
    (argparse otherwise takes ``--hom`` or ``--ho=`` for ``--home``)."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in {id(p): p for p in action.choices.values()}.values():
                no_abbreviations(sub)
    return parser


def options_table() -> str:
    """The markdown table of every command's options that docs/settings.md carries
    (``python -c 'from coverstory.cli import options_table; print(options_table())'``;
    tests/test_docs.py compares). ``--home`` and ``--json``, which every command takes,
    are left out."""
    rows = ["| command | option | default | what it does |", "|---|---|---|---|"]
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        formatter = parser._get_formatter()
        for a in parser._actions:
            if not a.option_strings or a.help == argparse.SUPPRESS or \
                    a.dest in ("help", "json", "home"):
                continue
            if isinstance(a, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
                default = "off" if a.default is False else "on"
            elif a.default in (None, argparse.SUPPRESS) or a.default == []:
                default = "(none)"
            else:
                default = f"`{a.default}`"
            option = ", ".join(f"`{o}`" for o in a.option_strings)
            if a.metavar or a.nargs != 0:
                if a.choices:
                    option += " {" + ", ".join(map(str, a.choices)) + "}"
            text = " ".join(formatter._expand_help(a).split()) if a.help else ""
            rows.append(f"| {name} | {option} | {default} | {text.replace('|', '/')} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    if getattr(args, "_missing", None):
        print(f"coverstory {args.command}: not available in this build ({args._missing})",
              file=sys.stderr)
        return 2
    try:
        result = args._run(args)
    except CoverstoryError as e:      # the library's errors, mapped here once (errors.py)
        if args.json:
            print(json.dumps({"error": str(e)}))
        else:
            print(f"coverstory {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if result is None:
        return 0
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "text"}, default=str))
    elif "text" in result:
        print(result["text"])
    else:
        print(json.dumps(result, indent=2, default=str))
    return int(result.get("exit_code", 0)) if isinstance(result, dict) else 0


if __name__ == "__main__":
    sys.exit(main())
