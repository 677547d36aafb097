"""A small matcher for the EventBridge event-pattern subset the app's rules use. Tests only.

Documented semantics (Amazon EventBridge user guide, "Event patterns" and "Content filtering in
Amazon EventBridge event patterns"):
- a pattern is a JSON object whose leaves are arrays of matchers; an event matches when every
  field of the pattern matches (AND), and a field matches when any matcher of its array does
  (OR); a nested object matches the event's nested object field by field;
- when the event's value is an array, the field matches when any element matches (for an
  array of objects, any object matching the nested pattern);
- matchers: a literal (exact, case-sensitive), `{"prefix": s}`, `{"anything-but": v}` with v
  a literal, a list of literals or `{"prefix": s}`, `{"exists": true|false}`;
- a field absent from the event matches only `{"exists": false}` (so `anything-but` needs the
  field to be present);
- `"$or": [pattern, ...]`: at least one of the sub-patterns matches, besides the other fields.
Anything else raises ValueError.
"""

from __future__ import annotations

from typing import Any

_ABSENT = object()


def matches(pattern: dict, event: Any) -> bool:
    if not isinstance(pattern, dict):
        raise ValueError(f"a pattern is an object, got {pattern!r}")
    for key, expected in pattern.items():
        if key == "$or":
            if not any(matches(sub, event) for sub in expected):
                return False
            continue
        value = event.get(key, _ABSENT) if isinstance(event, dict) else _ABSENT
        if not _field_matches(expected, value):
            return False
    return True


def _field_matches(expected: Any, value: Any) -> bool:
    if isinstance(expected, dict):
        if isinstance(value, list):
            return any(isinstance(v, dict) and matches(expected, v) for v in value)
        return isinstance(value, dict) and matches(expected, value)
    if not isinstance(expected, list):
        raise ValueError(f"a pattern leaf is an array of matchers, got {expected!r}")
    return any(_matcher(m, value) for m in expected)


def _matcher(matcher: Any, value: Any) -> bool:
    if isinstance(matcher, dict):
        (kind, arg), = matcher.items()
        if kind == "exists":
            return (value is not _ABSENT) is bool(arg)
        if value is _ABSENT:
            return False
        if isinstance(value, list):
            return any(_matcher(matcher, v) for v in value)
        if kind == "prefix":
            return isinstance(value, str) and value.startswith(arg)
        if kind == "anything-but":
            if isinstance(arg, dict):
                (sub, text), = arg.items()
                if sub != "prefix":
                    raise ValueError(f"unsupported anything-but {arg!r}")
                return not (isinstance(value, str) and value.startswith(text))
            return value not in (arg if isinstance(arg, list) else [arg])
        raise ValueError(f"unsupported matcher {matcher!r}")
    if value is _ABSENT:
        return False
    if isinstance(value, list):
        return matcher in value
    return value == matcher
