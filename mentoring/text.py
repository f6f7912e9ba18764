"""Rules for text people type: no control characters anywhere, and no line breaks in one-line
answers (a name with a line break would add lines to every email and export that shows it).
No Flask: models, imports and the request hook all use these."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

# Characters nobody types: the C0 controls except tab, line feed and carriage return; DEL; the
# C1 controls (U+0085, NEXT LINE, among them); and Unicode's line and paragraph separators.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
# In a one-line answer, tabs and line breaks are refused too.
LINE_BREAK_OR_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ONE_LINE_MESSAGE = "Enter this on one line, without line breaks or other control characters"


def has_control_characters(value: str) -> bool:
    return CONTROL.search(value) is not None


def one_line(value: str) -> str:
    if LINE_BREAK_OR_CONTROL.search(value):
        raise ValueError(ONE_LINE_MESSAGE)
    return value


def text_block(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError("Remove the control characters (invisible characters that cannot be "
                         "shown) from this answer")
    return value


OneLine = Annotated[str, AfterValidator(one_line)]
