"""A local mirror of the Hugging Face Hub, for machines that cannot reach it.

Set ``BERTCLF_MIRROR=DIR`` and every Hub name ``bertclf`` uses resolves inside ``DIR``:

- a model id such as ``google-bert/bert-base-uncased`` → ``DIR/models/google-bert/bert-base-uncased``
  (a directory ``from_pretrained`` reads: ``config.json``, weights, tokenizer files);
- a data set repository such as ``stanfordnlp/sst2`` → ``DIR/datasets/stanfordnlp/sst2``, holding
  either a copy of the Hub repository (its parquet files and ``README.md``, e.g. from
  ``hf download stanfordnlp/sst2 --repo-type dataset --local-dir …``) or a
  ``DatasetDict.save_to_disk`` directory (for a repository with configurations, the one the
  loader names may sit in ``DIR/datasets/<repo>/<config>``).

Nothing falls back to the network while the mirror is set: a missing entry is an error that names
the path it expected. Local directories and the bundled names (``bundled-minilm``,
``bundled-minilm-zh``) are used as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

from bertclf.errors import BertclfError

MIRROR_ENV = "BERTCLF_MIRROR"


def mirror_root() -> Path | None:
    """The mirror directory ``BERTCLF_MIRROR`` names, or ``None`` when it is not set."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    if not value:
        return None
    root = Path(value).expanduser()
    if not root.is_dir():
        raise BertclfError(f"{MIRROR_ENV}={value} is not a directory: point it at the mirror (DIR/models, DIR/datasets)")
    return root


def _looks_like_hub_id(name: str) -> bool:
    return not Path(name).expanduser().exists() and not name.startswith((".", "/", "~"))


def model_path(name: str) -> str:
    """``name`` itself, or its directory in the mirror when one is set and ``name`` is a Hub id."""
    root = mirror_root()
    if root is None or not _looks_like_hub_id(str(name)):
        return str(name)
    path = root / "models" / str(name)
    if not (path / "config.json").is_file():
        raise BertclfError(
            f"model {name!r} is not in the mirror: expected {path}/config.json ({MIRROR_ENV}={root}). "
            f"Copy it there, e.g. `hf download {name} --local-dir {path}` on a machine with the Hub"
        )
    return str(path)


def dataset_path(repo: str) -> Path | None:
    """Where the mirror keeps the Hub data set ``repo`` (``None`` when no mirror is set)."""
    root = mirror_root()
    return None if root is None else root / "datasets" / repo


def load_hub_dataset(repo: str, config: str | None = None):
    """``datasets.load_dataset(repo, config)``, or the mirror's copy of it when one is set."""
    import datasets

    path = dataset_path(repo)
    if path is None:
        return datasets.load_dataset(repo, config)
    if not path.is_dir():
        raise BertclfError(
            f"data set {repo!r} is not in the mirror: expected {path} ({MIRROR_ENV}={path.parents[1]}). "
            f"Copy it there, e.g. `hf download {repo} --repo-type dataset --local-dir {path}`"
        )
    for candidate in (path, path / config if config else None):
        if candidate is not None and (candidate / "dataset_dict.json").is_file():
            return datasets.load_from_disk(str(candidate))
    return datasets.load_dataset(str(path), config)
