"""Small helpers the book's chapters share: the environment line, showing real source code,
where runs go."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

from bertclf.profiles import describe, versions

# Where the book is published: the one place to change (mirrored by _config.yml
# repository.url and the Colab install cell of every chapter; a test checks they agree).
REPOSITORY_URL = "https://github.com/bertclf/bertclf-book"


def show_environment(**extra: object) -> None:
    """Print library versions and the profile line (the first output of every chapter)."""
    print("  ".join(f"{name} {version}" for name, version in versions().items()))
    print(describe(**extra))


def show_source(obj) -> None:
    """Display the real source of a ``bertclf`` function or class (not a copy)."""
    from IPython.display import Markdown, display

    source = inspect.getsource(obj)
    where = f"{inspect.getmodule(obj).__name__}.{obj.__qualname__}"
    display(Markdown(f"`{where}`\n\n```python\n{source}```"))


def runs_dir(name: str) -> Path:
    """A directory for a chapter's runs, outside git (``BERTCLF_RUNS`` or ``./runs``)."""
    path = Path(os.environ.get("BERTCLF_RUNS", "runs")) / name
    path.mkdir(parents=True, exist_ok=True)
    return path
