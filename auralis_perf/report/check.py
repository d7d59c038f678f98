"""Proof that a report is one self-contained file: nothing it shows is fetched from elsewhere."""
from __future__ import annotations

import re
from html.parser import HTMLParser

_EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)  # http://, https://, ftp://, //host
_CSS_EXTERNAL = re.compile(r"@import|url\(\s*['\"]?\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
_URL_ATTRIBUTES = ("src", "href", "data", "poster", "action", "srcset", "xlink:href", "background")


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._style_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "script":
            self.found.append(f"<script{' src=' + values['src'] if 'src' in values else ''}>")
        if tag == "link" and "stylesheet" in values.get("rel", "").lower():
            self.found.append(f"<link rel=stylesheet href={values.get('href', '')}>")
        for key in _URL_ATTRIBUTES:
            if key in values and _EXTERNAL.match(values[key]):
                self.found.append(f"<{tag} {key}={values[key]}>")
        if _CSS_EXTERNAL.search(values.get("style", "")):
            self.found.append(f"<{tag} style={values['style']}>")
        if tag == "style":
            self._style_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._style_depth = max(0, self._style_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._style_depth:
            for match in _CSS_EXTERNAL.finditer(data):
                self.found.append(f"CSS {data[match.start():match.start() + 60]}")


def external_references(html: str) -> list[str]:
    """Everything in `html` that would load from outside the file, or run script; empty when self-contained."""
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.found
