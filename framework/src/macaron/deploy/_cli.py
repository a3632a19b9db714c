"""``macaron deploy SERVICE [--env staging|live] [--version V] [--dry-run] [--rollback] [--yes]
[--allow-dirty] [--root DIR]``: the command behind ``nox -s deploy`` (arguments are declared
in :mod:`macaron._cli`, so building the parser imports nothing of the deploy).

Exit status: 0 deployed (or planned), 1 a step failed (what it changed was undone), 2 bad
config or arguments (nothing was changed in AWS), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ._pipeline import Options, Pipeline


def run(args: argparse.Namespace) -> int:
    options = Options(service=args.service, env=args.env, version=args.version, dry_run=args.dry_run,
                      rollback=args.rollback, yes=args.yes, allow_dirty=args.allow_dirty)
    root = Path(args.root or os.environ.get("MACARON_ROOT") or ".")
    return Pipeline(root, options).run()
