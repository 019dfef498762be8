"""The demo, run as a user runs it (``python -m integrations.demo``), against each
framework's example app: it exits 0 and reports that each of its three handlers ran
once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.servers import ROOT

pytestmark = pytest.mark.server


@pytest.mark.parametrize("framework", [None, "django", "flask"])
def test_the_demo_runs_each_handler_once(framework: str | None) -> None:
    option = [] if framework is None else ["--framework", framework]
    demo = subprocess.run(
        [sys.executable, "-m", "integrations.demo", *option],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert demo.stdout.startswith("Serving the ")
    verdicts = [line for line in demo.stdout.splitlines() if "handler ran" in line]
    assert verdicts == [
        "  requests sent: 2, handler ran: 1  ->  OK",
        "  requests sent: 5, handler ran: 1  ->  OK",
        "  requests sent: 3, handler ran: 1  ->  OK",
    ], demo.stdout
    assert "(a) A payment retried after the client timed out" in demo.stdout
    assert demo.stderr == ""
