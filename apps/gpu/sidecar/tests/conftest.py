"""Test audio made at test time: espeak-ng speech encoded by ffmpeg/lame with a title tag."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SIDECAR_DIR = Path(__file__).resolve().parent.parent
DEMO_POLICY = SIDECAR_DIR.parent / "policies" / "demo-policy.json"
sys.path.insert(0, str(SIDECAR_DIR))

from audio_sidecar.protocol import PolicyRef  # noqa: E402


def _require(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not installed; install it with: sudo apt-get install -y {program}")
    return path


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


class AudioFactory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._speech: dict[str, Path] = {}

    def speech_wav(self, text: str) -> Path:
        if text not in self._speech:
            path = self.directory / f"speech-{len(self._speech)}.wav"
            _run(_require("espeak-ng"), "-w", str(path), text)
            self._speech[text] = path
        return self._speech[text]

    def make(self, name: str, spoken: str, title: str | None, *codec: str) -> Path:
        """``ffmpeg -i speech.wav [codec args] -metadata title=... name``."""
        out = self.directory / name
        metadata = ["-metadata", f"title={title}"] if title is not None else []
        _run(_require("ffmpeg"), "-v", "error", "-y", "-i", str(self.speech_wav(spoken)), *codec, *metadata, str(out))
        return out

    def opus(self, name: str, title: str | None, spoken: str = "hello there") -> Path:
        return self.make(name, spoken, title, "-c:a", "libopus", "-b:a", "24k")

    def mp3(self, name: str, title: str | None, spoken: str = "hello there") -> Path:
        return self.make(name, spoken, title, "-c:a", "libmp3lame", "-b:a", "64k")

    def lame_mp3(self, name: str, title: str, *flags: str, spoken: str = "hello there") -> Path:
        out = self.directory / name
        _run(_require("lame"), "--quiet", *flags, "--tt", title, str(self.speech_wav(spoken)), str(out))
        return out


@pytest.fixture(scope="session")
def audio(tmp_path_factory: pytest.TempPathFactory) -> AudioFactory:
    return AudioFactory(tmp_path_factory.mktemp("audio"))


def ffprobe_duration(path: Path) -> float:
    out = subprocess.run(
        [_require("ffprobe"), "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


@pytest.fixture(scope="session")
def demo_policy_ref() -> PolicyRef:
    raw = DEMO_POLICY.read_bytes()
    document = json.loads(raw)
    return PolicyRef(
        id=document["id"], version=document["version"], sha256=hashlib.sha256(raw).hexdigest(), document=document
    )


@pytest.fixture(scope="session")
def demo_policy_wire(demo_policy_ref: PolicyRef) -> dict:
    ref = demo_policy_ref
    return {"id": ref.id, "version": ref.version, "sha256": ref.sha256, "document": ref.document}
