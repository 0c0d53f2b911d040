"""The printed page: outputs wrapped to the width of the built book's text column, measured in
columns (a Chinese character takes two), and the line every chapter opens with."""

from __future__ import annotations

from wcwidth import wcswidth, wcwidth

from bertclf.environment import versions
from bertclf.profiles import describe

PAGE_WIDTH = 96  # columns of code output that fit the built book's column


def display_width(text: str) -> int:
    """Columns ``text`` takes in a monospaced font (``wcwidth``): Chinese, Japanese and Korean
    characters take two, combining marks none; a control character counts as one."""
    width = wcswidth(text)
    return width if width >= 0 else sum(max(wcwidth(c), 1) for c in text)


def show_environment(**extra: object) -> None:
    """Print library versions and the profile line (the first output of every chapter), wrapped
    to the width of the book's page."""
    print(fill([f"{name} {version}" for name, version in versions().items()], sep="  "))
    print(fill(describe(**extra)))


def fill(parts: str | list[str], sep: str = " ") -> str:
    """``parts`` (or a line's words) joined by ``sep`` into lines that fit the book's page
    (measured by :func:`display_width`), never breaking a part; continuation lines are indented
    four spaces past the first."""
    lead = ""
    if isinstance(parts, str):
        lead = parts[: len(parts) - len(parts.lstrip(" "))]
        parts = parts.lstrip(" ").split(" ")
    lines, line = [], lead
    for part in parts:
        joined = f"{line}{sep}{part}" if line.strip() else line + part
        if line.strip() and display_width(joined) > PAGE_WIDTH:
            lines.append(line)
            line = lead + "    " + part
        else:
            line = joined
    return "\n".join([*lines, line])
