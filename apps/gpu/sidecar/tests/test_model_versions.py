"""The model versions the ready message reports: from a synced version's manifest, else `unversioned`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from audio_sidecar.backends.fixture import FixtureBackend
from audio_sidecar.config import Settings
from audio_sidecar.model_versions import read_model_versions
from test_protocol import serve


def synced(root: Path, name: str, version: str) -> Path:
    """The layout `models sync` leaves: MODELS_ROOT/{name} -> .versions/{name}/{version} with its manifest."""
    directory = root / ".versions" / name / version
    directory.mkdir(parents=True)
    (directory / "config.json").write_text("{}")
    manifest = {"format": 1, "name": name, "version": version, "files": [{"path": "config.json", "size": 2}]}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    os.symlink(f".versions/{name}/{version}", root / name)
    return root / name


def test_synced_models_report_their_manifest_version_and_hand_laid_ones_unversioned(tmp_path: Path) -> None:
    whisperx = synced(tmp_path, "whisperx", "large-v3-2025-01")
    adapter = synced(tmp_path, "cope-a-lora", "2025-06-01")
    base = tmp_path / "gemma-2-9b"
    base.mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    assert read_model_versions([whisperx, base, adapter, broken]) == {
        "whisperx": "large-v3-2025-01",
        "gemma-2-9b": "unversioned",
        "cope-a-lora": "2025-06-01",
        "broken": "unversioned",
    }


def test_the_real_backends_report_every_directory_they_load(tmp_path: Path) -> None:
    (tmp_path / "whisperx-align").mkdir()
    settings = Settings.from_env({"MODELS_ROOT": str(tmp_path)})
    assert [d.name for d in settings.model_dirs()] == ["whisperx", "whisperx-align", "nltk_data", "gemma-2-9b", "cope-a-lora"]
    (tmp_path / "cope-a-merged").mkdir()
    assert [d.name for d in settings.model_dirs()][-1:] == ["cope-a-merged"]


def test_the_fixture_loads_no_model_and_says_so_in_its_ready_message() -> None:
    [ready] = serve([])
    assert ready["type"] == "ready" and ready["modelVersions"] == {}
    assert FixtureBackend().model_versions() == {}
