"""Rules for free text (message content, names, titles, descriptions) and one-line fields.

In free text, control characters other than tab, newline and carriage return are refused: NUL
cannot be stored in a PostgreSQL text column at all, and the others have no place in chat text.
Refusing them in the domain keeps both backends and every read model in agreement. One-line
fields (usernames, emails, passwords, ids, filters) must be wholly printable.
"""

from __future__ import annotations

import re

_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_character_in(text: str) -> str | None:
    """The first forbidden control character of ``text`` (as ``U+00XX``), or None."""
    found = _FORBIDDEN.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def non_printable_in(text: str) -> str | None:
    """The first character of ``text`` that is not printable (as ``U+XXXX``), or None."""
    if text.isprintable():
        return None
    found = next(character for character in text if not character.isprintable())
    return f"U+{ord(found):04X}"
