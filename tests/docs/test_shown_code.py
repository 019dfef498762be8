"""Every Python block of the README and the site runs pasted alone into an empty file:
it compiles, and it imports or defines every name it uses. The site's blocks come from
files under integrations/ that the other tests run; the README's own are run here."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from idempotency_middleware.asgi import IdempotencyMiddleware
from integrations.snippets import error_shape, openapi
from tests.docs.code import README, Shown, shown, undefined_names
from tests.docs.pages import ROOT

SHOWN = shown()


@pytest.mark.parametrize(
    ("source", "undefined"),
    [
        (
            "app.add_middleware(IdempotencyMiddleware, store=store)",
            ["IdempotencyMiddleware", "app", "store"],
        ),
        (
            "from fastapi import FastAPI\napp = FastAPI()\napp.add_middleware(M, store=s)",
            ["M", "s"],
        ),
        ("def f(x: Any) -> None:\n    print(x, y)", ["Any", "y"]),
        (
            "class A:\n    n = 1\n\n    def m(self) -> int:\n        return self.n\n"
            "print(A, __name__)",
            [],
        ),
        ("def f():\n    global g\n    g = 1\nprint(g)", []),
        ("def outer():\n    v = 1\n    def inner():\n        return v\n    return inner", []),
    ],
)
def test_a_name_neither_imported_nor_defined_is_found(source: str, undefined: list[str]) -> None:
    assert undefined_names(source) == undefined


def test_the_readme_and_the_site_show_python() -> None:
    assert sum(code.page == README for code in SHOWN) >= 3
    assert sum(code.source is not None for code in SHOWN) > 20


@pytest.mark.parametrize("code", SHOWN, ids=lambda code: code.name)
def test_every_python_block_runs_pasted_alone(code: Shown) -> None:
    compile(code.text, code.name, "exec")
    assert undefined_names(code.text) == [], f"{code.name} shows names it never imports"


@pytest.mark.parametrize(
    "code", [code for code in SHOWN if code.source is None], ids=lambda code: code.name
)
def test_every_python_block_of_the_readme_runs(code: Shown, tmp_path: Path) -> None:
    # As a reader runs it: a fresh interpreter, in a directory of their own.
    result = subprocess.run(
        [sys.executable, "-c", code.text],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_readme_holds_no_site_page_code() -> None:
    # The site's pages include their code; only the README, which GitHub renders, holds any.
    assert {code.page for code in SHOWN if code.source is None} == {README}


def test_the_openapi_snippet_documents_the_key_and_the_problems() -> None:
    app = openapi.create_app()
    assert any(middleware.cls is IdempotencyMiddleware for middleware in app.user_middleware)
    operation = app.openapi()["paths"]["/orders"]["post"]
    header = next(p for p in operation["parameters"] if p["name"].lower() == "idempotency-key")
    assert header["in"] == "header"
    assert header["required"] is True
    assert {"400", "409", "422", "503"} <= set(operation["responses"])


def test_the_error_shape_snippet_answers_and_documents_its_shape() -> None:
    app = error_shape.create_app()

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.post("/orders", json={"id": 1})

    reply = asyncio.run(post())
    assert reply.status_code == 400
    assert reply.json()["error"] == "key-missing"
    assert reply.json()["retryable"] is False
    operation = app.openapi()["paths"]["/orders"]["post"]
    schema = operation["responses"]["409"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["error", "message", "retryable"]
