"""Logging for every command: plain lines for a terminal, or JSON lines (one event per line)
for a log collector. Neither carries personal data: the code logs types and ids, not texts."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_json = False  # set by configure


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            event["error"] = record.exc_info[0].__name__
        return json.dumps(event, ensure_ascii=False)


def configure(level: str, form: str) -> None:
    global _json
    _json = form == "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if form == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def announce(line: str, level: int = logging.INFO) -> None:
    """One line for the operator that the bot is up, whatever the log level (logs may be
    off or elsewhere); a JSON event when the logs are JSON lines."""
    if _json:
        record = logging.LogRecord("sangkien", level, "", 0, line, None, None)
        line = JsonLines().format(record)
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
