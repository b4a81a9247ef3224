"""The `haechi` command line. Errors become one clear line and an exit code; --debug shows the
trace. Machine output (--json) goes to stdout; progress and tables for people go to stderr
when stdout is taken by JSON.

Each command module registers its commands on `app` when imported; add new ones below."""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence

from haechi import failpoints
from haechi.cli import (  # noqa: F401  (each module registers its commands)
    banks,
    capture,
    cases,
    core,
    discover,
    evidence,
    evidence_custody,
    network,
    persons,
    persons_findings,
    report,
    review,
    rooms,
    serve,
    takedown,
    users,
    watch,
)
from haechi.cli.app import app, err, esc, state
from haechi.errors import HaechiError, StoreError
from haechi.i18n import _
from haechi.private import restrict_umask

__all__ = ["app", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run one command (`argv`, or the process's arguments when None). A haechi, file or
    database error ends it with one line on stderr and an exit code (the trace with --debug);
    Ctrl-C exits 130, keeping the work already committed."""
    restrict_umask()
    failpoints.arm_timer()
    try:
        app(args=list(argv) if argv is not None else None)
    except HaechiError as exc:
        if state.debug:
            raise
        _fail(str(exc), exc.exit_code)
    except OSError as exc:
        # A file haechi writes or reads failed (disk full, permission, storage gone): say
        # which and why. Writes are atomic (temporary name, then rename) or transactional,
        # so what was stored before is intact.
        if state.debug:
            raise
        _fail(_os_error(exc), StoreError.exit_code)
    except Exception as exc:
        if state.debug or not _is_database_error(exc):
            raise
        from haechi.store.db import store_error

        _fail(str(store_error(exc, state.database_name())), StoreError.exit_code)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        err.print(_("interrupted; work committed so far is kept, run the same command to resume"))
        sys.exit(130)
    finally:
        # Closing lets SQLite fold its write-ahead log into the database file and remove it,
        # so a data directory copied afterwards is one self-contained file.
        state.close()


def _fail(message: str, code: int) -> None:
    label = _("error:")
    err.print(f"[red]{label}[/] {esc(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def _os_error(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return where + _(
            "{reason}: the disk is full (or the file too large for it); free some space and run "
            "the command again. What was stored before is intact."
        ).format(reason=reason)
    if exc.errno == errno.EROFS:
        return where + _(
            "{reason}: this storage is read-only; only reading commands work on it"
        ).format(reason=reason)
    return f"{where}{reason}"


def _is_database_error(exc: Exception) -> bool:
    # sqlalchemy is loaded only by commands that use the database.
    exc_mod = sys.modules.get("sqlalchemy.exc")
    return exc_mod is not None and isinstance(exc, exc_mod.DatabaseError)


if __name__ == "__main__":
    main()
