"""The `haechi` command line. Errors become one clear line and an exit code; --debug shows the
trace. Machine output (--json) goes to stdout; progress and tables for people go to stderr
when stdout is taken by JSON.

Each command module registers its commands on `app` when imported; add new ones below."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from haechi.cli import (  # noqa: F401  (each module registers its commands)
    capture,
    cases,
    core,
    evidence,
    network,
    persons,
    review,
    rooms,
    watch,
)
from haechi.cli.app import app, err, esc, state
from haechi.errors import HaechiError
from haechi.i18n import _

__all__ = ["app", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    try:
        app(args=list(argv) if argv is not None else None)
    except HaechiError as exc:
        if state.debug:
            raise
        label = _("error:")
        err.print(f"[red]{label}[/] {esc(exc)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print(_("interrupted; work committed so far is kept, run the same command to resume"))
        sys.exit(130)


if __name__ == "__main__":
    main()
