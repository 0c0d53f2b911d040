"""Which language a set of texts is in, as far as choosing an encoder needs to know."""

from __future__ import annotations

import re
from collections.abc import Sequence

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def han_share(texts: Sequence[str], sample: int = 2000) -> float:
    """Share of Han (Chinese) characters among the non-space characters of the first texts."""
    joined = "".join(texts[:sample])
    letters = sum(not c.isspace() for c in joined)
    return len(_HAN.findall(joined)) / letters if letters else 0.0


def detect_language(texts: Sequence[str], threshold: float = 0.3) -> str:
    """``"zh"`` when Han characters make up at least ``threshold`` of the text, else ``"en"``."""
    return "zh" if han_share(texts) >= threshold else "en"
