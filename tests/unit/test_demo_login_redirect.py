"""The demo's login goes back only to a path of its own site."""

from __future__ import annotations

import pytest

from demo_app.web import local_path


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "/\\evil.example", "/\t/evil.example", "https://evil.example/", "evil", "", None, "/\x00x"],
)
def test_anything_but_a_local_path_goes_to_the_front_page(target: str | None) -> None:
    assert local_path(target) == "/"


@pytest.mark.parametrize("target", ["/cart", "/orders?paid=1", "/payguard/admin/dashboard/"])
def test_a_local_path_is_kept(target: str) -> None:
    assert local_path(target) == target
