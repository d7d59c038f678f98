"""Turning a user's search text into an FTS5 query that can only mean "these words".

Every whitespace-separated chunk becomes a quoted FTS5 string ("" doubles a quote inside it), so FTS5
operators in the user's text (AND, OR, NOT, NEAR, quotes, *, -, ^, +, parentheses, column filters with
a colon) are plain text. The tokenizer then splits the chunk as it split the stored text. Chunks without
any token character (only punctuation or spaces) are dropped: FTS5 cannot match them anyway.
"""
from __future__ import annotations

import unicodedata


def _is_token_char(ch: str) -> bool:
    # the tokenizer's categories (schema.py): L*, N*, Co, So; everything else separates words
    category = unicodedata.category(ch)
    return category[0] in "LN" or category in ("Co", "So")


def _has_token_char(chunk: str) -> bool:
    return any(_is_token_char(ch) for ch in chunk)


def fts_query(text: str, *, prefix: bool = True) -> str | None:
    """The FTS5 MATCH expression for `text`, or None when it has no word to search for."""
    if not isinstance(text, str):
        raise TypeError(f"search text must be str, not {type(text).__name__}")
    # control characters (NUL included) separate words; inside a quoted FTS5 string they could end it
    cleaned = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    chunks = [chunk for chunk in cleaned.split() if _has_token_char(chunk)]
    if not chunks:
        return None
    terms = ['"' + chunk.replace('"', '""') + '"' for chunk in chunks]
    if prefix:
        terms[-1] += "*"
    return " ".join(terms)


def normalise_search_text(text: str) -> str:
    """The cache key form of a search: only spacing is normalised, because it is the only change that
    provably gives the same FTS5 query (case folding in Python and in FTS5 differ, e.g. for "ß")."""
    return " ".join(text.split())
