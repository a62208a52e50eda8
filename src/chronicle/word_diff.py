"""Word-level differences between two texts, with the standard library's ``difflib``.

A text is cut into words and the whitespace between them (each run its own token), so nothing is
lost: joining the ``equal`` and ``insert`` parts gives the new text, the ``equal`` and ``delete``
parts the old one. An edit near the end of a long text shows as one long ``equal`` part and the
few words that changed.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Literal

Op = Literal["equal", "insert", "delete"]

_TOKENS = re.compile(r"\s+|\S+")


def _tokens(text: str) -> list[str]:
    return _TOKENS.findall(text)


def word_diff(old: str, new: str) -> list[dict[str, str]]:
    """The parts ``[{"op": "equal|insert|delete", "text": ...}]`` that turn ``old`` into ``new``.

    A replaced run of words shows as its ``delete`` then its ``insert``; neighbouring parts with
    the same op are merged.
    """
    before, after = _tokens(old), _tokens(new)
    # autojunk off: in a long text, frequent tokens (spaces, "the") must still match.
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    parts: list[tuple[Op, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(("equal", "".join(before[i1:i2])))
            continue
        if i2 > i1:
            parts.append(("delete", "".join(before[i1:i2])))
        if j2 > j1:
            parts.append(("insert", "".join(after[j1:j2])))
    merged: list[dict[str, str]] = []
    for op, text in parts:
        if merged and merged[-1]["op"] == op:
            merged[-1]["text"] += text
        else:
            merged.append({"op": op, "text": text})
    return merged
