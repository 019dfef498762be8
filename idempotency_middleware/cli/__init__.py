"""The operators' commands: ``python -m idempotency_middleware`` (or the
``idempotency-middleware`` script) against any store URL; ``flask idempotency`` and
``manage.py idempotency`` share what they do and print."""

from idempotency_middleware.cli.main import main

__all__ = ["main"]
