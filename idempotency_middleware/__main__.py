"""``python -m idempotency_middleware``: the operators' commands (see ``--help``)."""

from idempotency_middleware.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
