"""Run the app over a home with the contract doubles, as a real process (for the
kill -9 test): ``python -m tests.serve.doubles_server HOME PORT``."""

from __future__ import annotations

import sys


def main(home: str, port: int) -> None:
    import uvicorn

    from coverstory.serve.app import create_app
    from coverstory.serve.settings import ServeSettings
    from tests.serve.doubles import make_services

    cat, search, rec, dlg = make_services(home)
    app = create_app(home, admin_token="", catalog=cat, search=search, recommend=rec,
                     dialogue=dlg, settings=ServeSettings(rate_per_minute=0))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
