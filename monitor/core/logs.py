"""Structured logs: one event name per outcome, context bound (``feed=``, ``article=``).

Human-readable on a terminal by default, one JSON object per line with ``json``.
Every string value that holds a URL is redacted first (``redact_secrets``): a
feed URL with ``user:pass@`` or ``?token=`` never reaches a log line, whichever
event carries it.
"""

from __future__ import annotations

import io
import logging
import sys
from typing import Literal, TextIO

import structlog
from structlog.typing import EventDict, ExcInfo, WrappedLogger

from monitor.core.redact import redact_text

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def redact_secrets(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """Passwords and token parameters masked in every URL of every string value."""
    for key, value in event.items():
        if isinstance(value, str) and "://" in value:
            event[key] = redact_text(value)
    return event


_json = structlog.processors.JSONRenderer()


def _json_with_tracebacks(logger: WrappedLogger, method: str, event: EventDict) -> str | bytes:
    # The traceback as text (JSONRenderer alone wrote "exc_info": true), redacted.
    event = structlog.processors.format_exc_info(logger, method, event)
    if isinstance(event.get("exception"), str):
        event["exception"] = redact_text(event["exception"])
    return _json(logger, method, event)


def _redacted_traceback(out: TextIO, exc_info: ExcInfo) -> None:
    text = io.StringIO()
    # Plain: rich colours split a URL into pieces, and its locals would show secrets.
    structlog.dev.plain_traceback(text, exc_info)
    out.write(redact_text(text.getvalue()))


def configure(fmt: Literal["console", "json"] = "console", level: str = "info") -> None:
    renderer: structlog.types.Processor = (
        _json_with_tracebacks
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=_redacted_traceback
        )
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries log through the standard library; keep them to warnings.
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _RedactRecords) for f in handler.filters):
            handler.addFilter(_RedactRecords())


class _RedactRecords(logging.Filter):
    """The same redaction for what libraries log through the standard library."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "://" in message:
            record.msg, record.args = redact_text(message), None
        return True
