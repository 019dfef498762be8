"""The quick starts of the README and of docs/quickstart.md, followed as a new user follows
them: each says what to install, the server included, and the command that serves the app
with several workers; the code it shows, pasted into the file that command names with a
handler that leaves a visible effect, and served by that command, turns twenty identical
POSTs sent at once into one effect.

Django's run is tests/django/test_startproject.py, on a project ``startproject`` made.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.docs.code import README, shown
from tests.docs.pages import DOCS
from tests.support.at_once import post_at_once, the_one_run
from tests.support.servers import Server, running_gunicorn, running_server

QUICKSTART = DOCS / "quickstart.md"
FRAMEWORKS = ("Django", "FastAPI", "Flask")

# A section opens at a heading (the site) or at a bold name ending with a colon (the
# README) and runs to the next one.
_OPENING = re.compile(r"^(?:#{2,} (?P<heading>.+)|\*\*(?P<bold>[^*]+)\*\*:)", re.M)
_INSTALL = re.compile(r"`pip install (?P<arguments>[^`]+)`")
_SERVE = re.compile(r"`(?P<command>(?:uvicorn|gunicorn) [^`]+)`")

HANDLER_SECONDS = 0.5
"""How long a handler runs: the duplicates arrive while it does."""

_EFFECT = """

import os
import time


def leave_an_effect() -> None:
    # O_APPEND: each worker's line lands whole, whichever process writes it.
    line = os.open({path!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(line, b"placed\\n")
    finally:
        os.close(line)
    time.sleep({seconds})
"""

_HANDLERS = {
    "FastAPI": """

@app.post("/orders", status_code=201)
def place_order(order: dict[str, str]) -> dict[str, str]:
    leave_an_effect()
    return order
""",
    "Flask": """

@app.post("/orders")
def place_order() -> tuple[dict[str, bool], int]:
    leave_an_effect()
    return {"placed": True}, 201
""",
}


@dataclass(frozen=True)
class QuickStart:
    """One framework's quick start on one page: its prose and the Python it shows."""

    page: Path
    framework: str
    text: str
    code: list[str]

    @property
    def name(self) -> str:
        return f"{self.page.name}:{self.framework}"

    def installs(self) -> list[list[str]]:
        """The arguments of each ``pip install`` the section tells the reader to run."""
        return [shlex.split(found["arguments"]) for found in _INSTALL.finditer(self.text)]

    def serve(self) -> list[str]:
        """The command that serves the app, split as a shell splits it."""
        commands = [shlex.split(found["command"]) for found in _SERVE.finditer(self.text)]
        assert len(commands) == 1, f"{self.name} shows {len(commands)} server commands"
        return commands[0]


def quick_start(page: Path, framework: str) -> QuickStart:
    """The section of ``page`` whose heading starts with ``framework``."""
    text = page.read_text(encoding="utf-8")
    openings = list(_OPENING.finditer(text))
    starts = [
        (index, opening)
        for index, opening in enumerate(openings)
        if (opening["heading"] or opening["bold"]).startswith(framework)
    ]
    assert len(starts) == 1, f"{page.name} has {len(starts)} sections for {framework}"
    index, opening = starts[0]
    end = openings[index + 1].start() if index + 1 < len(openings) else len(text)
    first_line = text.count("\n", 0, opening.start()) + 1
    last_line = text.count("\n", 0, end) + 1
    code = [
        block.text
        for block in shown()
        if block.page == page and first_line <= block.line < last_line
    ]
    return QuickStart(page, framework, text[opening.start() : end], code)


QUICK_STARTS = [quick_start(page, name) for page in (README, QUICKSTART) for name in FRAMEWORKS]


@pytest.mark.parametrize("start", QUICK_STARTS, ids=lambda start: start.name)
def test_each_quick_start_says_what_to_install_and_how_to_serve_several_workers(
    start: QuickStart,
) -> None:
    server, *options = start.serve()
    extra = f"idempotency-middleware[{start.framework.lower()}"
    installs = start.installs()

    assert any(argument.startswith(extra) for found in installs for argument in found), (
        f"{start.name} never installs {extra}...]"
    )
    assert any(server in found for found in installs), f"{start.name} never installs {server}"
    assert _workers(options) > 1, f"{start.name} serves one worker"


def _workers(options: list[str]) -> int:
    for index, option in enumerate(options[:-1]):
        if option in ("-w", "--workers"):
            return int(options[index + 1])
    return 1


def _app_spec(options: list[str]) -> str:
    """The ``module:name`` of a server command: the one argument that is not an option or
    the worker count."""
    values = {index + 1 for index, option in enumerate(options) if option in ("-w", "--workers")}
    (spec,) = [
        option
        for index, option in enumerate(options)
        if index not in values and not option.startswith("-")
    ]
    return spec


@contextlib.contextmanager
def _serving(start: QuickStart, directory: Path, log_path: Path) -> Iterator[Server]:
    """The app of ``directory`` served as the quick start's command serves it."""
    server, *options = start.serve()
    spec, workers = _app_spec(options), _workers(options)
    if server == "uvicorn":
        with running_server(
            spec, log_path=log_path, workers=workers, factory=False, cwd=directory
        ) as running:
            yield running
    else:
        with running_gunicorn(spec, log_path=log_path, workers=workers, cwd=directory) as running:
            yield running


@pytest.mark.server
@pytest.mark.parametrize(
    "start",
    [start for start in QUICK_STARTS if start.framework in _HANDLERS],
    ids=lambda start: start.name,
)
def test_twenty_identical_posts_at_once_to_the_quick_start_app_leave_one_effect(
    start: QuickStart, tmp_path: Path
) -> None:
    (code,) = start.code
    directory = tmp_path / "app"
    directory.mkdir()
    effects = tmp_path / "effects"
    module = _app_spec(start.serve()[1:]).split(":")[0]
    effect = _EFFECT.format(path=str(effects), seconds=HANDLER_SECONDS)
    (directory / f"{module}.py").write_text(code + effect + _HANDLERS[start.framework])

    with _serving(start, directory, tmp_path / "server.log") as server:
        responses = post_at_once(
            server.base_url,
            "/orders",
            20,
            json={"item": "annual plan"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )

    assert effects.read_text().count("placed\n") == 1, server.log()
    the_one_run(responses)
