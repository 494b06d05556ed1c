"""Defence in depth on the way out: question markup is sanitized again whenever it is served.

Content is sanitized on import (`content_markup.sanitize_html`); a stem that
reached the database some other way (an older importer, a hand-edited row) is
cleaned here with the same rules before any response carries it. The browser
inserts only these fields as HTML (`serverHtml` in static/js/dom.js); what
students type (answers, notes) always goes in as text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from examsync.content_markup import sanitize_html

HTML_FIELDS = ("stem", "explanation")


@lru_cache(maxsize=8192)
def clean(fragment: str) -> str:
    return sanitize_html(fragment)


def _clean_question(question: dict[str, Any]) -> None:
    for name in HTML_FIELDS:
        if isinstance(question.get(name), str):
            question[name] = clean(question[name])
    for choice in question.get("choices") or ():
        if isinstance(choice.get("text"), str):
            choice["text"] = clean(choice["text"])


def safe_markup(view: dict[str, Any]) -> dict[str, Any]:
    """A resume state or results view with every stem, choice and explanation sanitized (in place)."""
    for section in view.get("sections") or ():
        for question in section.get("questions") or ():
            _clean_question(question)
    return view
