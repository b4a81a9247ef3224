"""`python -m haechi` and the `haechi` console script.

The CLI is imported inside `main`, not here: the scan's worker processes are started with
'spawn', which re-runs the launching script in each worker; from this module that costs
nothing, where importing every command module (and their libraries) cost each worker ~1 s."""

from __future__ import annotations


def main() -> None:
    from haechi.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
