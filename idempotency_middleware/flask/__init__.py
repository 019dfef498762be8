"""The Flask extension: ``Idempotency(app)``; its CLI is ``flask idempotency``."""

from idempotency_middleware.flask.extension import Idempotency
from idempotency_middleware.flask.forms import idempotency_key_input

__all__ = ["Idempotency", "idempotency_key_input"]
