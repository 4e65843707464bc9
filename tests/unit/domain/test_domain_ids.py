"""Project names that cannot be a URL path segment are refused (issue 9, item 14)."""

from __future__ import annotations

import pytest

from llmpulse.domain.ids import MAX_PROJECT_NAME, check_project_name, project_name_problem


@pytest.mark.parametrize(
    "name",
    [".", "..", "a/b", "/", "a\\b", "tab\there", "nul\x00", "", "x" * (MAX_PROJECT_NAME + 1)],
)
def test_unreachable_project_names_are_refused(name: str) -> None:
    assert project_name_problem(name) is not None
    with pytest.raises(ValueError, match="project name"):
        check_project_name(name)


@pytest.mark.parametrize("name", ["rag-demo", "a.b", "...", "ünïcode name", "x" * MAX_PROJECT_NAME])
def test_usable_project_names_are_accepted(name: str) -> None:
    assert project_name_problem(name) is None
    assert check_project_name(name) == name
