"""Logging to stderr as JSON lines, which the Node side forwards to pino with the same level.

Warnings (``warnings.warn``) and uncaught exceptions go through the same path, so a traceback
arrives in Node as one line with an ``err`` field instead of thirty lines of plain text.
"""

from __future__ import annotations

import json
import logging
import sys

_LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warn", "ERROR": "error", "CRITICAL": "fatal"}
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "level": _LEVELS.get(record.levelname, "info"),
            "time": int(record.created * 1000),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # Fields passed as logging's ``extra={...}`` become fields of the line.
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["err"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "info") -> logging.Logger:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_python_level(level))
    logging.captureWarnings(True)

    def log_uncaught(kind, value, traceback) -> None:  # noqa: ANN001 - sys.excepthook signature
        logging.getLogger("audio_sidecar").critical("uncaught exception", exc_info=(kind, value, traceback))

    sys.excepthook = log_uncaught
    return logging.getLogger("audio_sidecar")


def _python_level(level: str) -> int:
    name = {"warn": "WARNING", "fatal": "CRITICAL", "trace": "DEBUG"}.get(level.lower(), level.upper())
    value = logging.getLevelName(name)
    return value if isinstance(value, int) else logging.INFO

