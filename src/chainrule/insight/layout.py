"""Text that fits a terminal: tables and lines of at most 100 columns, however wide the numbers.

A table too wide for the width has its widest columns wrapped inside their cells (tabulate's
``maxcolwidths``, which breaks at spaces: the written-out sums of the tables break between
terms), narrowest-first never below 12 characters; a long message wraps like a paragraph.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

WIDTH = 100
_NARROWEST = 12


def _widest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def fit_table(
    rows: Sequence[Sequence[Any]] | Sequence[dict[str, Any]],
    headers: Any = (),
    width: int = WIDTH,
    **options: Any,
) -> str:
    """tabulate(rows, headers, **options), its widest columns wrapped until it fits width."""
    from tabulate import tabulate

    text = tabulate(rows, headers=headers, **options)
    if options.get("tablefmt") == "html" or _widest_line(text) <= width or not rows:
        return text
    if headers == "keys":  # dict rows: tabulate's own columns, in order
        keys = list(rows[0].keys()) if isinstance(rows[0], dict) else []
        cells = [[str(r[k]) for k in keys] for r in rows]  # type: ignore[index]
        heads = keys
    else:
        cells = [[str(c) for c in r] for r in rows]  # type: ignore[union-attr]
        heads = [str(h) for h in headers]
    columns = max(len(r) for r in cells)
    # tabulate pads a header by 2; a header may wrap between its words, a cell anywhere.
    header_len = [len(heads[i]) + 2 if i < len(heads) else 0 for i in range(columns)]
    floors = [
        max([_NARROWEST] + [len(word) + 2 for word in heads[i].split()]) if i < len(heads) else 0
        for i in range(columns)
    ]
    limits = [max([header_len[i]] + [len(r[i]) for r in cells if i < len(r)])
              for i in range(columns)]  # fmt: skip
    gaps = 2 * (columns - 1)
    # First the cells wrap, down to their header's width; only then the headers too.
    for lowest in ([max(f, h) for f, h in zip(floors, header_len, strict=True)], floors):
        while sum(limits) + gaps > width:
            widest = max(range(columns), key=lambda i: limits[i] - lowest[i])
            if limits[widest] <= lowest[widest]:
                break
            limits[widest] -= 1
    heads_fit = [max(1, limit - 2) for limit in limits]
    return tabulate(
        rows, headers=headers, maxcolwidths=limits, maxheadercolwidths=heads_fit, **options
    )


def wrap(text: str, width: int = WIDTH, indent: str = "") -> str:
    """A message as lines of at most width characters (continuation lines indented)."""
    return textwrap.fill(text, width=width, subsequent_indent=indent or "  ")
