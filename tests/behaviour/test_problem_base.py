"""Where the ``type`` URI of each problem points (SEMANTICS section 7): the docs site by
default, or the base the app names, such as its own copy of the problem pages."""

from __future__ import annotations

from typing import Any

import pytest

from idempotency_middleware import ConfigurationError
from idempotency_middleware.options import Options
from idempotency_middleware.problems import PROBLEM_BASE_URI
from idempotency_middleware.stores import MemoryStore
from tests.behaviour.client import Client, assert_problem
from tests.behaviour.conftest import MakeClient


def test_the_type_points_at_the_docs_site_by_default(client: Client) -> None:
    problem = assert_problem(client.post("/echo", ""), 400, "key-invalid")
    assert problem["type"] == f"{PROBLEM_BASE_URI}key-invalid/"


def test_the_type_starts_with_the_configured_base(make_client: MakeClient) -> None:
    client = make_client(problem_base_uri="https://api.example/errors/")
    problem = assert_problem(client.post("/echo", ""), 400, "key-invalid")
    assert problem["type"] == "https://api.example/errors/key-invalid/"


@pytest.mark.parametrize("base", ["", 42, "no base"])
def test_a_base_that_is_no_uri_is_a_configuration_error(base: Any) -> None:
    with pytest.raises(ConfigurationError, match="problem_base_uri"):
        Options.build(store=MemoryStore(), problem_base_uri=base)
