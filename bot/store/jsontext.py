"""JSON text of conversation states and JSON columns, through orjson.

Every answer serialises its chat's state once and the cached path parses it once; with the
standard library that was a fifth of the cached path's CPU (`python -m bench steps`).
"""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS  # as the json module does, int keys become strings


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=_OPTIONS).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)
