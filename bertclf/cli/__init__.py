"""The ``bertclf`` command: ``pretrain``, ``build-encoder``, ``train``, ``evaluate``, ``predict``,
``export`` and ``serve`` (arguments: :mod:`.parser`; commands: :mod:`.training`, :mod:`.shipping`,
:mod:`.pretraining`).

Whatever goes wrong — bad input, a missing, damaged or unwritable file, a full disk — ends in one
line, ``bertclf: error: …``, that names the problem and the fix, and exit status 2 (130 after
Ctrl-C). An error nobody foresaw is reported as one line too; ``BERTCLF_DEBUG=1`` shows its
traceback.
"""

from __future__ import annotations

import errno
import os
import sys

from bertclf.cli.parser import build_parser
from bertclf.errors import BertclfError

__all__ = ["build_parser", "main"]


def _commands() -> dict:
    from bertclf.cli.pretraining import cmd_build_encoder, cmd_pretrain
    from bertclf.cli.shipping import cmd_export, cmd_predict, cmd_serve
    from bertclf.cli.training import cmd_evaluate, cmd_train

    return {"pretrain": cmd_pretrain, "build-encoder": cmd_build_encoder, "train": cmd_train,
            "evaluate": cmd_evaluate, "predict": cmd_predict, "export": cmd_export, "serve": cmd_serve}


def explain(error: BaseException) -> str:
    """One line naming what went wrong and what to do about it."""
    if isinstance(error, BertclfError):
        return str(error)
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        if error.errno == errno.ENOSPC:
            return f"the disk is full{where}: free some space, or write elsewhere (--out, BERTCLF_CACHE)"
        if isinstance(error, PermissionError):
            return f"permission denied{where}: choose a path you can write to (--out, BERTCLF_CACHE), or fix its rights"
        if isinstance(error, (FileNotFoundError, NotADirectoryError, IsADirectoryError)):
            return f"{error.strerror or error}{where}: check the path"
        return f"{error.strerror or error}{where}: check the file and the disk"
    if isinstance(error, MemoryError):
        return "out of memory: lower --batch-size or --max-length, or use a smaller --train-size"
    first = str(error).splitlines()[0][:300] if str(error) else ""
    return (f"unexpected {type(error).__name__}: {first} — a bug in bertclf or a damaged file; "
            "run again with BERTCLF_DEBUG=1 for the traceback, and report it")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _commands()[args.command](args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - one line for every failure, the traceback on request
        if os.environ.get("BERTCLF_DEBUG") and not isinstance(error, BertclfError):
            raise
        print(f"bertclf: error: {explain(error)}", file=sys.stderr)
        return 2
    return 0
