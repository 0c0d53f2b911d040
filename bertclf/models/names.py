"""Model names: what ``TrainConfig.model`` and ``--model`` accept, resolved to a directory or a
Hub id — the encoders bundled with the package (``bundled-minilm``, and those built from it on
first use, such as ``bundled-minilm-zh``), local directories, and Hub ids, which go to the local
mirror when ``BERTCLF_MIRROR`` is set (:mod:`bertclf.mirror`)."""

from __future__ import annotations

from bertclf import wheels
from bertclf.mirror import model_path
from bertclf.profiles import BUNDLED_CHINESE_MODEL, BUNDLED_MODEL


def resolve(name: str) -> str:
    """A Hub id or local directory for ``name``: ``bundled-minilm`` → the bundled folder,
    ``bundled-minilm-zh`` → the cached Chinese encoder (built on first use), a Hub id → its
    directory in the local mirror when ``BERTCLF_MIRROR`` is set; anything else unchanged."""
    name = str(name)
    if name == BUNDLED_MODEL:
        return str(wheels.minilm_dir())
    if name == BUNDLED_CHINESE_MODEL:
        from bertclf.encoders.chinese import chinese_encoder_dir

        return str(chinese_encoder_dir())
    return model_path(name)
