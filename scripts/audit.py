"""pip-audit of every distribution installed in the venv — the pinned runtime and dev dependencies and what they
pull in — against PyPI's vulnerability data (``make audit``; CI runs it with ``--allow-unreachable``).

The exact versions come from ``pip freeze`` (the editable kessai itself is left out), and pip-audit checks them
as given (``--no-deps --disable-pip``) in strict mode: a distribution it cannot look up fails the audit instead
of being skipped quietly. pip-audit reads PyPI's per-release JSON (``/pypi/<name>/<version>/json``); when that
cannot be reached from this machine, nothing can be audited, and the script says so loudly: it exits 2, or 0
with ``--allow-unreachable`` (a machine without that route must not block CI, but its log shows the audit did
not run). See docs/security.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
FEED = "https://pypi.org/pypi/{name}/{version}/json"


def frozen() -> list[str]:
    done = subprocess.run(  # noqa: S603 - the venv's own pip
        [str(BIN / "pip"), "freeze", "--exclude-editable"], capture_output=True, text=True, check=True, timeout=120
    )
    return [line for line in done.stdout.splitlines() if "==" in line and not line.startswith("#")]


def feed_reachable(pins: list[str]) -> tuple[bool, str]:
    """Can this machine read PyPI's vulnerability data for a release we pin?"""
    name, _, version = next(p for p in pins if p.lower().startswith("django==")).partition("==")
    url = FEED.format(name=name.lower(), version=version)
    try:
        response = httpx.get(url, timeout=20.0, follow_redirects=True)
    except httpx.HTTPError as exc:
        return False, f"{url}: {exc.__class__.__name__}"
    try:
        usable = response.status_code == 200 and "vulnerabilities" in response.json()
    except ValueError:
        usable = False
    if not usable:
        return False, f"{url}: HTTP {response.status_code}"
    return True, url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allow-unreachable", action="store_true", help="exit 0 when the data cannot be reached")
    args = parser.parse_args()

    pins = frozen()
    reachable, detail = feed_reachable(pins)
    if not reachable:
        print(
            f"pip-audit: PyPI's vulnerability data is NOT reachable from this machine ({detail}); "
            f"{len(pins)} pinned distributions were NOT audited.",
            file=sys.stderr,
        )
        return 0 if args.allow_unreachable else 2
    with tempfile.TemporaryDirectory() as directory:
        requirements = Path(directory) / "requirements.txt"
        requirements.write_text("\n".join(pins) + "\n")
        command = [
            str(BIN / "pip-audit"),
            "--strict",
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--desc",
            "on",
            "-r",
            str(requirements),
        ]
        print(f"pip-audit: {len(pins)} pinned distributions", flush=True)
        return subprocess.run(command, check=False).returncode  # noqa: S603 - the venv's own pip-audit


if __name__ == "__main__":
    sys.exit(main())
