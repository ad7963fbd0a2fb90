# Sourced by scripts/demo, scripts/docs, scripts/test and scripts/uv: puts a working `uv` in $UV, installing it into .tools/ if needed.
ensure_uv() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if command -v uv >/dev/null 2>&1; then
    UV="$(command -v uv)"
  elif [ -x "$root/.tools/bin/uv" ]; then
    UV="$root/.tools/bin/uv"
  else
    local python
    python="$(command -v python3 || command -v python)" || { echo "Python 3.11+ is required." >&2; exit 1; }
    echo "Installing uv into .tools/ ..." >&2
    "$python" "$root/scripts/install_uv.py" "$root/.tools" >/dev/null
    UV="$root/.tools/bin/uv"
  fi
  export UV
  # Trust the system's certificate store too (proxies with their own CA, corporate mirrors).
  export UV_SYSTEM_CERTS="${UV_SYSTEM_CERTS:-1}"
}
