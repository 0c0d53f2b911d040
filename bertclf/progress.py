"""Progress bars: ``tqdm.auto`` (a widget in Jupyter, text in a terminal), switched off by
``TQDM_DISABLE=1``, which tqdm's own notebook bar does not read. The book's builds set it so
that executed chapters store no stale bars."""

from __future__ import annotations

import os

from tqdm.auto import tqdm


def progress(iterable=None, *, disable: bool = False, **kwargs) -> tqdm:
    """``tqdm.auto.tqdm(iterable, **kwargs)``, also disabled when ``TQDM_DISABLE`` is set."""
    quiet = os.environ.get("TQDM_DISABLE", "").strip().lower() in ("1", "true", "yes")
    return tqdm(iterable, disable=disable or quiet, **kwargs)
