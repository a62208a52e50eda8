"""Rules for free text (message content, names, titles, descriptions).

Control characters other than tab, newline and carriage return are refused: NUL cannot be
stored in a PostgreSQL text column at all, and the others have no place in chat text. Refusing
them in the domain keeps both backends and every read model in agreement.
"""

from __future__ import annotations

import re

_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_character_in(text: str) -> str | None:
    """The first forbidden control character of ``text`` (as ``U+00XX``), or None."""
    found = _FORBIDDEN.search(text)
    return f"U+{ord(found.group()):04X}" if found else None
