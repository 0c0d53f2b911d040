"""Loading a model, tokenizer or configuration from a saved local directory (a run, a cached
encoder, a bundled model), with a clear error when its files are missing or damaged."""

from __future__ import annotations

from pathlib import Path

from bertclf.errors import BertclfError


def from_directory(loader, path: str | Path, **kwargs):
    """``loader.from_pretrained(path)`` for a saved local directory (a run, a cached encoder); files
    that are missing or damaged are a :class:`BertclfError` that says so."""
    try:
        return loader.from_pretrained(str(path), **kwargs)
    except Exception as error:  # noqa: BLE001 - whatever the library raises on a damaged file
        raise BertclfError(
            f"could not load {path} ({type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''}): "
            "its model files are missing or damaged. Train or export it again; for a cached encoder, delete "
            "that directory and it is built again"
        ) from None
