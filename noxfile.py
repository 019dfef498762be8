"""Sessions: ``nox -s lint tests`` is what CI runs; ``nox -s demo`` plays the three cases."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite on this interpreter, against the real servers."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy --strict over the package, the tests and the integrations."""
    session.install("-e", ".[test,lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session
def demo(session: nox.Session) -> None:
    """Run the three cases of the mission against a real server on SQLite."""
    session.install("-e", ".[demo]")
    session.run("python", "-m", "integrations.demo", *session.posargs)


@nox.session(python=PYTHONS)
def matrix(session: nox.Session) -> None:
    """The test suite on every supported Python, from the built wheel."""
    session.install(".[test]")
    session.run("pytest", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the bare app and the peers (docs/performance.md).

    ``nox -s bench`` writes docs/bench/; ``nox -s bench -- --quick`` is a smoke run into
    build/bench/. Needs PostgreSQL and Redis on 127.0.0.1, and wrk for the HTTP table.
    """
    session.install(
        "-e",
        ".[postgres,redis,fastapi,starlette,django,flask]",
        "uvicorn[standard]>=0.30",
        "matplotlib>=3.8",
        "pyinstrument>=4.6",
        # The peers, from PyPI; not asgi-idempotency-header[redis], which pins redis<5.
        "asgi-idempotency-header==0.2.0",
        "idemkit==1.0.2",
        "asyncpg>=0.29",
    )
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into build/docs, every warning an error.

    The dirhtml builder gives each page a folder of its own, so the ``type`` URI of
    each problem (``.../problems/<slug>/``) is the address of its page.
    """
    session.install("-e", ".[docs]")
    session.run(
        "sphinx-build",
        "--builder",
        "dirhtml",
        "--fail-on-warning",
        "--keep-going",
        "--fresh-env",
        "docs",
        "build/docs",
        *session.posargs,
    )


@nox.session
def soak(session: nox.Session) -> None:
    """Four workers, a minute of mixed traffic and a Redis restart in the middle: no
    handler runs twice for a key, no 5xx but the documented 503s.

    ``nox -s soak -- --seconds 10`` for a quick check. Needs the ``redis-server`` binary.
    """
    session.install("-e", ".[test]")
    session.run("python", "-m", "tests.soak", *session.posargs)
