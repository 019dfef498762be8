"""A handler that stays exactly-once even if it runs twice: its own unique constraint.

The middleware cannot cover a worker that dies after the handler's side effect and
before the record is completed: after the lease, a retry runs the handler again. Here
the second run finds the payment the first one committed and answers with it.
"""

from __future__ import annotations

# [start:payment]
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from idempotency_middleware import Request as IdempotencyRequest
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.stores import Store

metadata = sa.MetaData()

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account", sa.String(100), nullable=False),
    sa.Column("request_key", sa.String(255), nullable=False),
    sa.Column("amount", sa.Integer, nullable=False),
    # One payment per account and key, whatever happens to the idempotency record.
    sa.UniqueConstraint("account", "request_key"),
)


def account_scope(request: IdempotencyRequest) -> str:
    """Keys belong to the account; ``X-Account`` stands in for real authentication."""
    return "account:" + (request.header("x-account") or "")


def create_app(store: Store, database_url: str) -> Starlette:
    """A payments API whose handler is safe to run twice for one key."""
    engine = sa.create_engine(database_url)
    metadata.create_all(engine)

    async def pay(request: Request) -> JSONResponse:
        account = request.headers["X-Account"]
        key = request.headers["Idempotency-Key"]
        amount = int((await request.json())["amount"])
        try:
            with engine.begin() as connection:
                connection.execute(
                    payments.insert().values(account=account, request_key=key, amount=amount)
                )
        except IntegrityError:
            pass  # an earlier run committed this payment: answer with it
        with engine.connect() as connection:
            payment = connection.execute(
                sa.select(payments).where(
                    payments.c.account == account, payments.c.request_key == key
                )
            ).one()
        return JSONResponse({"id": payment.id, "amount": payment.amount}, 201)

    return Starlette(
        routes=[Route("/payments", pay, methods=["POST"])],
        middleware=[
            Middleware(
                IdempotencyMiddleware, store=store, required=["/payments"], scope=account_scope
            )
        ],
    )


# [end:payment]

__all__ = ["account_scope", "create_app", "payments"]
