"""`python -m haechi` and the `haechi` console script.

The CLI is imported inside `main`, not here: multiprocessing re-runs the launching script in
the scan's fork server (see haechi.scan.pool); from this module that costs nothing, where
importing every command module (and their libraries) would cost it ~1 s."""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run the CLI: make every file haechi writes private to this user, start the scan workers'
    fork server early when the command line looks like a multi-worker scan, then hand over to
    haechi.cli."""
    from haechi.private import restrict_umask

    # Before any worker or file exists: everything haechi writes is private to this user.
    restrict_umask()
    if _scan_workers(sys.argv[1:]) > 1:
        # The workers' fork server loads the models while the CLI loads itself.
        from haechi.scan.pool import start_fork_server

        start_fork_server()
    from haechi.cli import main as cli_main

    cli_main()


def _scan_workers(args: list[str]) -> int:
    """The worker processes the command line asks for if its command is `scan`, else 0. A
    guess before the CLI parses anything: a wrong guess costs time, never a result."""
    workers = os.environ.get("HAECHI_WORKERS", "")
    n = int(workers) if workers.isdigit() else (os.cpu_count() or 1)
    it = iter(args)
    for arg in it:
        if arg in ("--home", "--workers"):
            value = next(it, "")
            if arg == "--workers":
                n = int(value) if value.isdigit() else n
        elif arg.startswith("--workers="):
            value = arg.partition("=")[2]
            n = int(value) if value.isdigit() else n
        elif not arg.startswith("-"):
            return n if arg == "scan" else 0
    return 0


if __name__ == "__main__":
    main()
