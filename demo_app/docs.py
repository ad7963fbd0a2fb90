"""The API documentation page, served with its own assets: it works offline and loads nothing from a CDN."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from litestar import Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

__all__ = ("ASSETS_PATH", "openapi_config")

ASSETS_PATH = "/docs-assets/swagger-ui"
"""Where Swagger UI's scripts, styles and icons are served from (the ``swagger-ui-py`` wheel ships them)."""


def _swagger_ui_assets() -> Path:
    """The ``static`` folder of the ``swagger-ui-py`` wheel, found without importing its web-framework glue."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        msg = "The demo's API docs need the swagger-ui-py package (the demo extra installs it)."
        raise RuntimeError(msg)
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def openapi_config(*, title: str, version: str) -> tuple[OpenAPIConfig, Router]:
    """The OpenAPI config whose Swagger page (``/schema/swagger``) uses local assets, and the router serving them."""
    swagger = SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
    )
    assets = create_static_files_router(
        path=ASSETS_PATH, directories=[_swagger_ui_assets()], include_in_schema=False, name="demo-docs-assets"
    )
    return OpenAPIConfig(title=title, version=version, render_plugins=[swagger]), assets
