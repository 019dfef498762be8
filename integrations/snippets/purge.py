"""A scheduled job that deletes the expired records of a SQL store.

Run it from cron or a scheduler, such as hourly:
``python -m integrations.snippets.purge postgresql+psycopg://user@host/db``. Redis drops
expired records by itself.
"""

from __future__ import annotations

import sys

# [start:purge]
from idempotency_middleware.stores import from_url


def purge(url: str) -> int:
    """Delete the expired records of the store at ``url``; how many went."""
    store = from_url(url, create_table=False)
    try:
        return store.purge()
    finally:
        store.close()


# [end:purge]
__all__ = ["main", "purge"]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m integrations.snippets.purge STORE_URL", file=sys.stderr)
        return 2
    print(f"purged {purge(argv[0])} expired records")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
