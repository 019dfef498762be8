"""Sessions: ``nox -s lint docs tests`` is what CI runs; ``nox -s demo`` plays the three cases.

Every session but the version matrix and the benchmarks installs within constraints.txt, so
a fresh machine gets the versions CI tested on any day; ``nox -s lock`` updates the pins.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "docs", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

CONSTRAINTS = Path("constraints.txt")
PINNED = ("-c", str(CONSTRAINTS))
LOCKED_EXTRAS = ("test", "lint", "demo", "docs")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite on this interpreter, against the real servers."""
    session.install(*PINNED, "-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy --strict over the package, the tests and the integrations."""
    session.install(*PINNED, "-e", ".[test,lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session
def demo(session: nox.Session) -> None:
    """Run the three cases of the mission against a real server on SQLite; ``nox -s demo --
    --framework django`` (or ``flask``) plays them against that framework's example app."""
    session.install(*PINNED, "-e", ".[demo]")
    session.run("python", "-m", "integrations.demo", *session.posargs)


DJANGOS = {"5.2": "django>=5.2,<5.3", "6": "django>=6.0,<7"}
"""Django 5.2 LTS and 6.x; 6.x needs Python 3.12 or newer."""

FLASKS = {"3.0": "flask>=3.0,<3.1", "3.1": "flask>=3.1,<3.2"}
"""Flask 3.0 and 3.1, each with Flask-SQLAlchemy 3.1."""


def _supported(python: str, django: str) -> bool:
    return django != "6" or tuple(map(int, python.split("."))) >= (3, 12)


MATRIX = [
    nox.param(python, django, flask, id=f"python={python}, django={django}, flask={flask}")
    for python in PYTHONS
    for django in DJANGOS
    for flask in FLASKS
    if _supported(python, django)
]


@nox.session
@nox.parametrize(("python", "django", "flask"), MATRIX)
def matrix(session: nox.Session, django: str, flask: str) -> None:
    """The test suite from the built wheel, on every supported Python, Django and Flask.

    ``nox -s matrix`` runs every combination; name one to run it alone, as in
    ``nox -s "matrix(python=3.13, django=6, flask=3.1)"``.
    """
    # The pins, but for the frameworks this combination chooses.
    chosen = Path(session.virtualenv.location) / "constraints.txt"
    chosen.write_text(
        "".join(
            line
            for line in CONSTRAINTS.read_text().splitlines(keepends=True)
            if line.split("==")[0] not in ("django", "flask", "flask-sqlalchemy")
        )
    )
    session.install("-c", str(chosen), ".[test]")
    session.install("-c", str(chosen), DJANGOS[django], FLASKS[flask], "flask-sqlalchemy>=3.1,<3.2")
    # The tests, the example apps and the docs they check run from a copy away from the
    # source tree, whose package would otherwise shadow the installed wheel. Not in
    # create_tmp(), which moves TMPDIR too: private Redis servers' socket paths would
    # outgrow their limit.
    suite = Path(session.virtualenv.location) / "suite"
    shutil.rmtree(suite, ignore_errors=True)
    for part in ("tests", "integrations", "docs"):
        shutil.copytree(part, suite / part, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "constraints.txt"):
        shutil.copy(name, suite)
    session.chdir(suite)
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
        "fastapi-idempotency-key==0.1.1",
        "fastidempotent==0.1.0",
        "pyidempotent==0.1.0",
        "asyncpg>=0.29",
    )
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into build/docs, every warning an error.

    The dirhtml builder gives each page a folder of its own, so the ``type`` URI of
    each problem (``.../problems/<slug>/``) is the address of its page.
    """
    session.install(*PINNED, "-e", ".[docs]")
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
    session.install(*PINNED, "-e", ".[test]")
    session.run("python", "-m", "tests.soak", *session.posargs)


@nox.session
def lock(session: nox.Session) -> None:
    """Resolve the newest releases that pyproject.toml admits into constraints.txt, for
    Python 3.10 to 3.13 at once (the docs tools need 3.11). Run it on purpose, then run
    ``nox -s lint docs tests`` and commit both."""
    session.install("uv==0.13.9")
    wanted = Path(session.create_tmp()) / "wanted.txt"
    extras = ",".join(extra for extra in LOCKED_EXTRAS if extra != "docs")
    wanted.write_text(
        f"idempotency-middleware[{extras}] @ .\n"
        'idempotency-middleware[docs] @ . ; python_version >= "3.11"\n'
    )
    session.run(
        "uv", "pip", "compile", str(wanted), "--universal", "--python-version", "3.10",
        "--no-header", "--no-annotate", "--quiet", "--output-file", str(CONSTRAINTS),
    )  # fmt: skip
    # The project itself is installed from the source tree, never from a pin.
    pins = [line for line in CONSTRAINTS.read_text().splitlines() if line != "."]
    CONSTRAINTS.write_text("\n".join(pins) + "\n")
