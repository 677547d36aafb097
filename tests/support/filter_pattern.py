"""A small evaluator for the CloudWatch Logs filter-pattern subset the metric filters use.

Documented semantics (CloudWatch Logs user guide, "Filter pattern syntax"):
- `{ <expr> }` matches JSON log events only; a line that is not a JSON object never matches.
  Selectors are `$.a.b` and `$.a[0]`. Operators: `=`, `!=` on strings (`*` is a wildcard) and
  numbers; `<`, `<=`, `>`, `>=` on numbers; `IS TRUE|FALSE|NULL`; `EXISTS`, `NOT EXISTS`;
  `&&`, `||` and parentheses. A comparison on a field that is absent, or of another type, is
  false (so `!=` on an absent field is false too).
- `"a phrase"` matches when the event contains the phrase (case-sensitive); unquoted terms
  separated by spaces must all appear.
Anything else raises ValueError: an unsupported pattern must fail the test, not pass silently.
Used only by tests; the app never imports it.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<op>&&|\|\||==|!=|<=|>=|=|<|>|\(|\))
    | (?P<sel>\$(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])+)
    | "(?P<str>(?:[^"\\]|\\.)*)"
    | (?P<word>[^\s()&|=!<>"]+)
    )""", re.VERBOSE)
_ABSENT = object()


def matches(pattern: str, line: str) -> bool:
    pattern = pattern.strip()
    if pattern.startswith("{"):
        if not pattern.endswith("}"):
            raise ValueError(f"unbalanced JSON pattern: {pattern!r}")
        try:
            event = json.loads(line)
        except ValueError:
            return False
        if not isinstance(event, dict):
            return False
        parser = _Parser(_tokens(pattern[1:-1]))
        result = parser.expression(event)
        if parser.pos != len(parser.tokens):
            raise ValueError(f"unexpected {parser.tokens[parser.pos]} in {pattern!r}")
        return result
    if pattern.startswith('"') and pattern.endswith('"') and len(pattern) >= 2:
        return pattern[1:-1] in line
    if not pattern or any(c in pattern for c in "[]{}?-"):
        raise ValueError(f"unsupported pattern: {pattern!r}")
    return all(term in line for term in pattern.split())


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot tokenize {text[pos:]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "str":
            value = bytes(value, "utf-8").decode("unicode_escape")
        out.append((kind, value))
        pos = m.end()
    return out


def _select(event: Any, selector: str) -> Any:
    value = event
    for part in re.findall(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]", selector):
        key, index = part
        if key:
            if not isinstance(value, dict) or key not in value:
                return _ABSENT
            value = value[key]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                return _ABSENT
            value = value[int(index)]
    return value


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise ValueError("pattern ends too early")
        self.pos += 1
        return token

    def expression(self, event: dict) -> bool:
        result = self._conjunction(event)
        while self._peek() == ("op", "||"):
            self._take()
            right = self._conjunction(event)
            result = result or right
        return result

    def _conjunction(self, event: dict) -> bool:
        result = self._atom(event)
        while self._peek() == ("op", "&&"):
            self._take()
            right = self._atom(event)
            result = result and right
        return result

    def _atom(self, event: dict) -> bool:
        kind, value = self._take()
        if (kind, value) == ("op", "("):
            result = self.expression(event)
            if self._take() != ("op", ")"):
                raise ValueError("missing ')'")
            return result
        if kind != "sel":
            raise ValueError(f"expected a selector, got {value!r}")
        field = _select(event, value)
        kind, op = self._take()
        if kind == "word" and op.upper() == "EXISTS":
            return field is not _ABSENT
        if kind == "word" and op.upper() == "NOT":
            if self._take()[1].upper() != "EXISTS":
                raise ValueError("expected EXISTS after NOT")
            return field is _ABSENT
        if kind == "word" and op.upper() == "IS":
            word = self._take()[1].upper()
            wanted = {"TRUE": True, "FALSE": False, "NULL": None}[word]
            return field is not _ABSENT and field is wanted
        if kind != "op" or op not in ("=", "!=", "<", "<=", ">", ">="):
            raise ValueError(f"expected a comparison, got {op!r}")
        vkind, operand = self._take()
        if field is _ABSENT:
            return False
        number = _number(operand) if vkind == "word" else None
        if number is not None:
            if isinstance(field, bool) or not isinstance(field, (int, float)):
                return False
            return {"=": field == number, "!=": field != number, "<": field < number,
                    "<=": field <= number, ">": field > number, ">=": field >= number}[op]
        if op not in ("=", "!="):
            raise ValueError(f"{op} needs a number, got {operand!r}")
        if not isinstance(field, str):
            return False
        wildcard = ".*".join(re.escape(part) for part in operand.split("*"))
        equal = re.fullmatch(wildcard, field, re.DOTALL) is not None
        return equal if op == "=" else not equal
