"""Install uv into a folder, with nothing but Python: pip when there is one, else the wheel from PyPI.

Usage: python3 scripts/install_uv.py <folder>   ->   <folder>/bin/uv
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path


def _with_pip(folder: Path) -> Path | None:
    target = folder / "pip"
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--target",
        str(target),
        "uv",
    ]
    try:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # noqa: S603  # fixed argv
    except (OSError, subprocess.CalledProcessError):
        return None
    binary = target / "bin" / "uv"
    return binary if binary.exists() else None


def _platform_matches(filename: str) -> bool:
    system, machine = platform.system(), platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64" if system == "Linux" else "arm64"}.get(machine, machine)
    if system == "Linux":
        return "manylinux" in filename and arch in filename
    if system == "Darwin":
        return "macosx" in filename and (arch in filename or "universal2" in filename)
    return False


PYPI_JSON = "https://pypi.org/pypi/uv/json"


def _from_pypi(folder: Path) -> Path:
    with urllib.request.urlopen(PYPI_JSON, timeout=60) as response:
        release = json.load(response)
    wheels = [
        file for file in release["urls"] if file["filename"].endswith(".whl") and _platform_matches(file["filename"])
    ]
    if not wheels:
        raise SystemExit(f"No uv wheel for {platform.system()} {platform.machine()}; install uv yourself.")
    wheel = wheels[0]
    url = urllib.parse.urljoin(PYPI_JSON, wheel["url"])  # mirrors may answer with relative links
    with urllib.request.urlopen(url, timeout=300) as response:  # noqa: S310
        payload = response.read()
    if hashlib.sha256(payload).hexdigest() != wheel["digests"]["sha256"]:
        raise SystemExit("The downloaded uv wheel does not match its published SHA-256.")
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        member = next(name for name in archive.namelist() if name.endswith("/scripts/uv"))
        binary = folder / "bin" / "uv"
        binary.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(member) as source, binary.open("wb") as target:
            shutil.copyfileobj(source, target)
    binary.chmod(0o755)
    return binary


def main() -> None:
    """Install uv into the folder given as the only argument and print the binary's path."""
    folder = Path(sys.argv[1]).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    binary = _with_pip(folder) or _from_pypi(folder)
    link = folder / "bin" / "uv"
    if binary != link:
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(binary)
    print(link)  # noqa: T201  # the script's output


if __name__ == "__main__":
    main()
