"""The base of every request body model, and the text types for what others are shown.

Request bodies are taken as JSON typed them: ``"count": true`` or ``"count": "5"`` is not a
number (pydantic's strict mode), unknown members are refused. Dates and times arrive as
JSON strings, so their fields opt out of strict mode one by one (``JsonDate`` here,
``trace_api.instants.AwareInstant``). Text that other people read (names, labels,
reasons) may not hold control characters, nor the invisible characters that make it read
other than it is: bidirectional controls (U+202E turns "exe.txt" into "txt.exe"),
zero-width and other format characters, separators, private-use and unassigned code
points, and the blank letters that show as nothing (`hidden_character`); nor may it be
blank, only spaces and combining marks (`is_blank`).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

JsonDate = Annotated[date, Field(strict=False)]

# Characters that show nothing, or show other than they are: controls (Cc), format
# characters (Cf: bidi embeddings, overrides, isolates and marks, zero-width space and
# joiners, soft hyphen, tags, the byte order mark), line and paragraph separators (Zl, Zp),
# private-use, surrogate and unassigned code points (Co, Cs, Cn), and the blank letters
# that render as nothing: the combining grapheme joiner, the Hangul fillers and the blank
# Braille pattern.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
_BLANK_LETTERS = frozenset("\u034f\u115f\u1160\u3164\uffa0\u2800")
_MARKS = frozenset({"Mn", "Mc", "Me"})  # combining marks, variation selectors: nothing alone
_ASCII_CONTROLS_IN_ONE_LINE = re.compile("[\x00-\x1f\x7f]")
_ASCII_CONTROLS_IN_PROSE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # \t \n \r pass
_PROSE_BREAKS = frozenset("\t\n\r")


def hidden_character(text: str, *, prose: bool) -> str | None:
    """The first character of ``text`` that reads other than it is, or None."""
    if text.isascii():
        found = (_ASCII_CONTROLS_IN_PROSE if prose else _ASCII_CONTROLS_IN_ONE_LINE).search(text)
        return found.group() if found else None
    for char in text:
        if prose and char in _PROSE_BREAKS:
            continue
        if unicodedata.category(char) in _HIDDEN_CATEGORIES or char in _BLANK_LETTERS:
            return char
    return None


class RequestModel(BaseModel):
    """A request body: strict JSON types, no unknown members."""

    model_config = ConfigDict(extra="forbid", strict=True)


def is_blank(text: str) -> bool:
    """Whether non-empty ``text`` shows nothing: only spaces (of any width) and marks."""
    return bool(text) and all(c.isspace() or unicodedata.category(c) in _MARKS for c in text)


def _no_hidden(*, prose: bool) -> AfterValidator:
    def check(text: str) -> str:
        found = hidden_character(text, prose=prose)
        if found is not None:
            raise ValueError(f"holds the invisible or control character U+{ord(found):04X}")
        if is_blank(text):
            raise ValueError("is blank: it holds only spaces or combining marks")
        return text

    return AfterValidator(check)


DisplayName = Annotated[str, _no_hidden(prose=False)]
"""One line shown to others: a name, a label, a lot."""

DisplayText = Annotated[str, _no_hidden(prose=True)]
"""Prose shown to others: a description, a reason; line breaks and tabs allowed."""
