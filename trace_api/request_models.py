"""The base of every request body model, and the text types for what others are shown.

Request bodies are taken as JSON typed them: ``"count": true`` or ``"count": "5"`` is not a
number (pydantic's strict mode), unknown members are refused. Dates and times arrive as
JSON strings, so their fields opt out of strict mode one by one (``JsonDate`` here,
``trace_api.instants.AwareInstant``). Text that other people read (names, labels,
reasons) may not hold control characters, nor the invisible characters that make it read
other than it is: bidirectional controls (U+202E turns "exe.txt" into "txt.exe") and
zero-width ones.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

JsonDate = Annotated[date, Field(strict=False)]

# C0 and C1 controls and DEL; the bidi embeddings, overrides, isolates and marks; zero-width
# space, joiners, word joiner, invisible operators and the byte order mark.
_HIDDEN_IN_ONE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
# Longer text may break lines and use tabs.
_HIDDEN_IN_PROSE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff]"
)


class RequestModel(BaseModel):
    """A request body: strict JSON types, no unknown members."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _no_hidden(pattern: re.Pattern[str]) -> AfterValidator:
    def check(text: str) -> str:
        found = pattern.search(text)
        if found:
            raise ValueError(f"holds the invisible or control character U+{ord(found.group()):04X}")
        return text

    return AfterValidator(check)


DisplayName = Annotated[str, _no_hidden(_HIDDEN_IN_ONE_LINE)]
"""One line shown to others: a name, a label, a lot."""

DisplayText = Annotated[str, _no_hidden(_HIDDEN_IN_PROSE)]
"""Prose shown to others: a description, a reason; line breaks and tabs allowed."""
