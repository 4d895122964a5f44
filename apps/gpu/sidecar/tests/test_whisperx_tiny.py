"""The WhisperX code path on a tiny random-weight Whisper: faster-whisper, pyannote VAD, our checks.

Runs in CI on the CPU (offline, from the project's venv) and on CUDA under `pnpm gpu:check`. The
model's words are noise; what is checked is the structure of what the real code returns.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from audio_sidecar.backends.audio_decode import ffmpeg_reason, load_audio
from audio_sidecar.config import Settings, force_offline
from audio_sidecar.errors import ConfigError, ItemError
from conftest import TEST_DEVICE

force_offline(os.environ)  # as main() does before anything imports pyannote


def settings(root: Path, **env: str) -> Settings:
    return Settings.from_env({"MODELS_ROOT": str(root), "SIDECAR_DEVICE": TEST_DEVICE, **env})


@pytest.fixture(scope="module")
def transcriber(tiny_models_root: Path, tmp_path_factory: pytest.TempPathFactory):
    from audio_sidecar.backends.whisperx_transcriber import WhisperxTranscriber

    s = settings(tiny_models_root, SIDECAR_STATE_DIR=str(tmp_path_factory.mktemp("state")))
    s.prepare_real_backends(os.environ)
    return WhisperxTranscriber(s, TEST_DEVICE, logging.getLogger("test"))


def test_transcribes_speech_into_timed_segments_in_english(transcriber, audio) -> None:
    path = audio.opus("speech.opus", None, spoken="we will meet at the station at noon to talk about the weather")
    result = transcriber.transcribe(str(path))
    assert transcriber.model_name == "whisperx:tiny-random-whisper"  # the resolved directory, a test double
    assert result.language == "en"  # WHISPERX_LANGUAGE defaults to en: no detection on an English-only model
    assert 2.0 < result.duration_seconds < 8.0
    # pyannote's VAD (real weights) finds the speech; the random decoder says something about it.
    assert result.segments, "the VAD found no speech in espeak-ng's sentence"
    for segment in result.segments:
        assert 0.0 <= segment["start"] < segment["end"] <= result.duration_seconds + 0.5
        assert isinstance(segment["text"], str)
    assert result.text == " ".join(s["text"] for s in result.segments if s["text"])
    assert result.text


def test_silence_gives_no_segments(transcriber, audio, tmp_path: Path) -> None:
    import subprocess

    path = tmp_path / "silence.opus"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3", "-c:a", "libopus", str(path)],
        check=True,
    )
    result = transcriber.transcribe(str(path))
    assert result.segments == [] and result.text == ""


def test_undecodable_audio_is_a_decode_error_that_gives_ffmpegs_reason(transcriber, corrupt_mp3: Path) -> None:
    with pytest.raises(ItemError) as caught:
        transcriber.transcribe(str(corrupt_mp3))
    assert caught.value.code == "decode_error"
    message = caught.value.message
    assert "ffmpeg version" not in message and "Copyright" not in message  # not the banner
    assert "ffmpeg cannot decode it:" in message and str(corrupt_mp3) in message


def test_ffmpeg_reason_keeps_the_verdict_without_run_specific_pointers() -> None:
    stderr = b"[mp3 @ 0x5580b1b51900] Failed to read frame size: Could not seek to 11267.\n/x/c.mp3: Invalid argument\n"
    assert ffmpeg_reason(stderr) == "[mp3] Failed to read frame size: Could not seek to 11267.; /x/c.mp3: Invalid argument"
    assert ffmpeg_reason(b"") == "no reason given"


def test_load_audio_is_16k_mono_float(audio) -> None:
    samples = load_audio(str(audio.mp3("hello.mp3", "t")))
    assert samples.dtype.name == "float32" and samples.ndim == 1
    assert 0.5 * 16000 < len(samples) < 3 * 16000
    assert -1.0 <= float(samples.min()) and float(samples.max()) < 1.0


def test_language_detection_on_an_english_only_model_is_refused_at_startup(tiny_models_root: Path) -> None:
    from audio_sidecar.backends.whisperx_transcriber import WhisperxTranscriber

    with pytest.raises(ConfigError, match="English-only model, which cannot detect languages"):
        WhisperxTranscriber(settings(tiny_models_root, WHISPERX_LANGUAGE="auto"), TEST_DEVICE, logging.getLogger("t"))
    with pytest.raises(ConfigError, match="WHISPERX_LANGUAGE=de, but .* is an English-only model"):
        WhisperxTranscriber(settings(tiny_models_root, WHISPERX_LANGUAGE="de"), TEST_DEVICE, logging.getLogger("t"))


def test_a_preprocessor_config_that_disagrees_with_the_model_is_refused(tiny_models_root: Path, tmp_path: Path) -> None:
    from audio_sidecar.backends.whisperx_transcriber import WhisperxTranscriber

    model = tmp_path / "whisper-128"
    shutil.copytree(tiny_models_root / "whisperx", model)
    config = json.loads((model / "preprocessor_config.json").read_text())
    config["feature_size"] = 128  # large-v3's; the tiny model takes 80
    (model / "preprocessor_config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="takes 80 mel bins but preprocessor_config.json gives 128"):
        WhisperxTranscriber(
            settings(tiny_models_root, WHISPERX_MODEL_DIR=str(model)), TEST_DEVICE, logging.getLogger("t")
        )
