"""Test audio made at test time: espeak-ng speech encoded by ffmpeg/lame with a title tag."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SIDECAR_DIR = Path(__file__).resolve().parent.parent
DEMO_POLICY = SIDECAR_DIR.parent / "policies" / "demo-policy.json"
sys.path.insert(0, str(SIDECAR_DIR))

from audio_sidecar.protocol import PolicyRef  # noqa: E402

# Where the tiny-model tests run: cpu in CI; `pnpm gpu:check` sets cuda on a GPU host.
TEST_DEVICE = os.environ.get("SIDECAR_TEST_DEVICE", "cpu")


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


@pytest.fixture(scope="session")
def tiny_models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pnpm models:tiny``'s output: random-weight WhisperX and CoPE-A models in the MODELS_ROOT layout."""
    from tiny_models import make_tiny_models

    root = tmp_path_factory.mktemp("tiny-models")
    make_tiny_models(root)
    return root


@pytest.fixture(scope="session")
def corrupt_mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MP3 frame header followed by garbage: ffmpeg recognises nothing it can decode."""
    path = tmp_path_factory.mktemp("corrupt") / "broken.mp3"
    path.write_bytes(b"\xff\xfb\x90\x00" + bytes(range(256)) * 40)
    return path
