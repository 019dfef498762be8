"""Outcomes as JSON log lines, with the standard library only."""

from __future__ import annotations

# [start:logging]
import json
import logging


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the middleware's ``idempotency_*`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k.startswith("idempotency_")}
        return json.dumps({"message": record.getMessage(), **fields})


def log_as_json(handler: logging.Handler) -> None:
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("idempotency_middleware")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)  # every outcome; INFO and above: failures only


# [end:logging]
__all__ = ["JsonFormatter", "log_as_json"]
