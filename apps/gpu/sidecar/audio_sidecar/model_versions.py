"""Which model versions the sidecar loaded, for its ready message (and so the host's heartbeat).

A model synced by ``models sync`` is ``MODELS_ROOT/{name}`` → ``.versions/{name}/{version}/`` with the
version's ``manifest.json`` (name, version, files) inside; a model directory laid out by hand has no
manifest and reports ``unversioned``, so the dashboard shows which hosts run untracked weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

MANIFEST = "manifest.json"
UNVERSIONED = "unversioned"


def read_model_versions(dirs: Iterable[Path]) -> dict[str, str]:
    versions: dict[str, str] = {}
    for directory in dirs:
        name, version = directory.name, UNVERSIONED
        try:
            manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = None
        if isinstance(manifest, dict) and isinstance(manifest.get("version"), str):
            name = manifest["name"] if isinstance(manifest.get("name"), str) else name
            version = manifest["version"]
        versions[name] = version
    return versions
