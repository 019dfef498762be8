"""The site's navigation: every page is reachable, and every problem type has its page."""

from __future__ import annotations

import re

import pytest

from idempotency_middleware import ProblemType
from idempotency_middleware.problems import PROBLEM_BASE_URI
from tests.docs.pages import DOCS, pages, toctree_entries


def _reachable() -> set[str]:
    seen, todo = set(), [(DOCS / "index.md").resolve()]
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        todo.extend(toctree_entries(page))
    return {str(page.relative_to(DOCS)) for page in seen}


def test_every_page_is_reachable_from_the_navigation() -> None:
    every = {str(page.relative_to(DOCS)) for page in pages()}
    assert every - _reachable() == set()


def test_every_navigation_entry_is_a_page() -> None:
    missing = [
        f"{page.relative_to(DOCS)} lists {entry.relative_to(DOCS)}"
        for page in pages()
        for entry in toctree_entries(page)
        if not entry.is_file()
    ]
    assert missing == []


def test_the_problem_base_uri_is_the_problems_folder_of_the_site() -> None:
    assert PROBLEM_BASE_URI.endswith("/problems/")
    assert (DOCS / "problems" / "index.md").is_file()


@pytest.mark.parametrize("problem", list(ProblemType), ids=lambda problem: problem.slug)
def test_every_problem_type_has_its_page(problem: ProblemType) -> None:
    # The dirhtml builder serves problems/<slug>.md at problems/<slug>/, the type URI.
    assert problem.uri == f"{PROBLEM_BASE_URI}{problem.slug}/"
    page = DOCS / "problems" / f"{problem.slug}.md"
    assert page.is_file(), f"no page for {problem.uri}"
    text = page.read_text(encoding="utf-8")
    assert text.startswith(f"# {problem.slug}\n")
    assert re.search(rf"\*\*{problem.status} ", text), f"{page.name} does not give its status"
    assert f"problems/{problem.slug}.md" in _reachable()


def test_the_problem_index_lists_every_type_with_its_status() -> None:
    index = (DOCS / "problems" / "index.md").read_text(encoding="utf-8")
    for problem in ProblemType:
        row = f"| [{problem.slug}]({problem.slug}.md) | {problem.status} | "
        retryable = "yes" if problem.retryable else "no"
        assert row + retryable in index, problem.slug
