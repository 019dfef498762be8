"""A function and a plain asyncio consumer that run once per message id."""

from __future__ import annotations

# [start:functions]
import asyncio
import secrets
from collections.abc import Callable
from typing import Any

from idempotency_middleware import idempotent
from idempotency_middleware.stores import Store

Message = dict[str, Any]


def create_booking(store: Store, ledger: list[Message]) -> Callable[..., Message]:
    """``book(delivery_id, account, cents)``, which books each delivery once."""

    @idempotent(store, key="delivery_id")
    def book(delivery_id: str, account: str, cents: int) -> Message:
        ledger.append({"account": account, "cents": cents})
        return {"receipt": secrets.token_hex(8), "cents": cents}

    return book


async def consume(queue: asyncio.Queue[Message | None], store: Store, seen: list[str]) -> None:
    """Handle the messages of ``queue`` until a None, each id once, however often it comes."""

    # A redelivery may carry a new timestamp: the id alone says it is the same message.
    @idempotent(store, key=lambda message: message["id"], fingerprint=lambda message: None)
    async def handle(message: Message) -> str:
        seen.append(message["id"])
        return f"handled {message['id']}"

    while (message := await queue.get()) is not None:
        await handle(message)


# [end:functions]

__all__ = ["consume", "create_booking"]
