"""``python -m audio_sidecar`` with SIDECAR_BACKEND=whisperx-cope on the tiny random-weight models.

The real backends' whole code path as a process, offline: startup checks, the caches in the state
directory, no network traffic (pyannote's telemetry off), the ready message, results with timed
segments and policy-stamped scores, and per-item errors. Runs on the CPU in CI, on CUDA under
`pnpm gpu:check`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SIDECAR_DIR, TEST_DEVICE

TINY_MODELS = {"transcribe": "whisperx:tiny-random-whisper", "classify": "cope-a:tiny-random-cope-lora+tiny-random-gemma-2"}

# Runs the sidecar under an audit hook that records every attempt to open a network connection or
# resolve a name, and, at exit, whether pyannote's telemetry was on.
RUNNER = """
import json, os, runpy, sys
log = open(os.environ["NETWORK_LOG"], "w", buffering=1)
def hook(event, args):
    if event.startswith(("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto", "socket.sendmsg")):
        log.write(json.dumps([event, repr(args)[:300]]) + "\\n")
sys.addaudithook(hook)
sys.argv = ["audio_sidecar"]
try:
    runpy.run_module("audio_sidecar", run_name="__main__", alter_sys=True)
finally:
    metrics = sys.modules.get("pyannote.audio.telemetry.metrics")
    log.write(json.dumps(["pyannote-metrics", metrics.is_metrics_enabled() if metrics else "not imported"]) + "\\n")
"""


def revised_policy_wire(wire: dict) -> dict:
    """The demo policy as a new version (another sha256), as `pnpm policy add` would store it."""
    document = {**wire["document"], "version": "2099-01-01"}
    return {**wire, "version": "2099-01-01", "sha256": "f" * 64, "document": document}


def sidecar_env(models_root: Path, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TORCH_HOME", "HF_HOME", "XDG_CACHE_HOME", "MPLCONFIGDIR")}
    # A HOME nothing can be created under (a file; root ignores permissions): caches must go elsewhere.
    home = tmp / "home-is-a-file"
    home.write_text("")
    env.update(
        {
            "PYTHONPATH": str(SIDECAR_DIR),
            "SIDECAR_BACKEND": "whisperx-cope",
            "MODELS_ROOT": str(models_root),
            "SIDECAR_DEVICE": TEST_DEVICE,
            "SIDECAR_STATE_DIR": str(tmp / "state"),
            "HOME": str(home),
            "NETWORK_LOG": str(tmp / "network.log"),
            **extra,
        }
    )
    return env


def run(env: dict[str, str], requests: list[dict], timeout: float = 600) -> subprocess.CompletedProcess:
    stdin = "".join(json.dumps(r) + "\n" for r in requests).encode()
    return subprocess.run(
        [sys.executable, "-c", RUNNER], input=stdin, capture_output=True, env=env, cwd=SIDECAR_DIR, timeout=timeout
    )


@pytest.fixture(scope="module")
def served(tiny_models_root: Path, tmp_path_factory: pytest.TempPathFactory, audio, corrupt_mp3: Path, demo_policy_wire):
    tmp = tmp_path_factory.mktemp("real-sidecar")
    items = [
        {"key": "speech", "path": str(audio.opus("real-1.opus", None, spoken="we will attack the depot at noon"))},
        {"key": "broken", "path": str(corrupt_mp3)},
        {"key": "gone", "path": str(tmp / "no-such-file.opus")},
        {"key": "mp3", "path": str(audio.mp3("real-2.mp3", None, spoken="the weather is lovely today"))},
    ]
    requests = [
        {"id": "p", "op": "ping"},
        {"id": "r1", "op": "process", "items": items, "policy": demo_policy_wire},
        # Re-classification: stored transcripts, no audio, under another policy version.
        {
            "id": "c1",
            "op": "classify",
            "items": [{"key": "threat", "text": "we will attack the depot at noon"}, {"key": "silence", "text": ""}],
            "policy": revised_policy_wire(demo_policy_wire),
        },
    ]
    completed = run(sidecar_env(tiny_models_root, tmp), requests)
    replies = [json.loads(line) for line in completed.stdout.splitlines()]
    return completed, replies, tmp


def test_ready_names_the_real_backend_and_the_models_it_loaded(served) -> None:
    completed, replies, _ = served
    assert completed.returncode == 0, completed.stderr.decode()[-3000:]
    ready = replies[0]
    assert ready["type"] == "ready" and ready["backend"] == "whisperx-cope"
    assert ready["models"] == TINY_MODELS and ready["device"] == TEST_DEVICE
    assert [r["type"] for r in replies] == ["ready", "pong", "result", "classified"]


def test_results_hold_timed_segments_and_policy_stamped_scores(served, demo_policy_wire) -> None:
    _, replies, _ = served
    by_key = {item["key"]: item for item in replies[2]["items"]}
    for key in ("speech", "mp3"):
        item = by_key[key]
        assert item["ok"] is True, item
        transcript, classification = item["transcript"], item["classification"]
        assert transcript["model"] == TINY_MODELS["transcribe"] and transcript["language"] == "en"
        assert transcript["segments"], "the VAD found no speech"
        for segment in transcript["segments"]:
            assert 0.0 <= segment["start"] < segment["end"] <= item["durationSeconds"] + 0.5
        assert classification["model"] == TINY_MODELS["classify"]
        assert classification["policyId"] == demo_policy_wire["id"]
        assert classification["policyVersion"] == demo_policy_wire["version"]
        assert classification["policySha256"] == demo_policy_wire["sha256"]
        assert 0.0 <= classification["score"] <= 1.0
        assert classification["flagged"] == (classification["score"] > 0.5)


def test_classify_scores_stored_text_with_cope_under_the_requested_version(served, demo_policy_wire) -> None:
    _, replies, _ = served
    classified = replies[-1]
    assert classified["id"] == "c1"
    by_key = {item["key"]: item for item in classified["items"]}
    revised = revised_policy_wire(demo_policy_wire)
    for key in ("threat", "silence"):
        item = by_key[key]
        assert item["ok"] is True and set(item) == {"key", "ok", "classification"}, item  # no transcript
        classification = item["classification"]
        assert classification["model"] == TINY_MODELS["classify"]
        assert (classification["policyVersion"], classification["policySha256"]) == (revised["version"], revised["sha256"])
        assert 0.0 <= classification["score"] <= 1.0 and classification["flagged"] == (classification["score"] > 0.5)
    assert by_key["silence"]["classification"]["score"] == 0.0  # nothing to judge


def test_bad_items_fail_alone_with_their_reasons(served) -> None:
    _, replies, _ = served
    by_key = {item["key"]: item for item in replies[2]["items"]}
    assert by_key["gone"]["error"]["code"] == "not_found"
    broken = by_key["broken"]["error"]
    assert broken["code"] == "decode_error"
    assert broken["message"].startswith("ffmpeg cannot decode it:") and "ffmpeg version" not in broken["message"]


def test_nothing_leaves_the_host_and_caches_live_in_the_state_dir(served) -> None:
    _, _, tmp = served
    events = [json.loads(line) for line in (tmp / "network.log").read_text().splitlines()]
    assert ["pyannote-metrics", False] in events  # pyannote was loaded, with its telemetry off
    assert [e for e in events if e[0] != "pyannote-metrics"] == []  # not one connection or name lookup
    assert (tmp / "state" / "torch").is_dir()  # TORCH_HOME, which pyannote's VAD loader creates
    assert (tmp / "state" / "huggingface").is_dir()


def _copy(models_root: Path, tmp: Path) -> Path:
    copy = tmp / "models"
    shutil.copytree(models_root, copy, symlinks=True)
    return copy


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("whisperx/tokenizer.json", "WHISPERX_MODEL_DIR"),
        ("whisperx/preprocessor_config.json", "WHISPERX_MODEL_DIR"),
        ("whisperx/model.bin", "WHISPERX_MODEL_DIR"),
        ("cope-a-lora/adapter_model.safetensors", "COPE_ADAPTER_DIR"),
        ("gemma-2-9b/model.safetensors", "COPE_BASE_DIR"),
        ("gemma-2-9b/tokenizer.json", "COPE_BASE_DIR"),
    ],
)
def test_a_missing_model_file_stops_the_start_with_one_line_naming_it(tiny_models_root: Path, tmp_path: Path, missing: str, named: str) -> None:
    models = _copy(tiny_models_root, tmp_path)
    (models / missing).unlink()
    completed = run(sidecar_env(models, tmp_path), [], timeout=120)
    assert completed.returncode == 78 and completed.stdout == b""
    errors = [json.loads(line) for line in completed.stderr.splitlines() if b'"level": "error"' in line]
    assert len(errors) == 1
    directory, name = missing.split("/")
    assert f"{(models / directory)}/{name}" in errors[0]["msg"] and named in errors[0]["msg"]
    # Stopped before importing anything heavy.
    assert '["pyannote-metrics", "not imported"]' in (tmp_path / "network.log").read_text()


def test_no_ffmpeg_is_a_startup_error_not_a_decode_error_per_item(tiny_models_root: Path, tmp_path: Path) -> None:
    completed = run(sidecar_env(tiny_models_root, tmp_path, PATH=str(tmp_path / "empty-bin")), [], timeout=120)
    assert completed.returncode == 78
    assert b"ffmpeg is not on PATH" in completed.stderr


def test_cope_max_tokens_over_the_window_is_a_startup_error(tiny_models_root: Path, tmp_path: Path) -> None:
    completed = run(sidecar_env(tiny_models_root, tmp_path, COPE_MAX_TOKENS="9000"), [], timeout=120)
    assert completed.returncode == 78
    assert b"must be between 256 and 8192 (Gemma-2's context window)" in completed.stderr


def test_auto_device_without_cuda_refuses_a_big_model_unless_the_cpu_is_asked_for(tiny_models_root: Path, tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("auto picks the GPU here")  # the CPU-only case; gpu:check runs on a GPU host
    # 1,000 bytes stands in for 4 GiB: the tiny models' weights are over it, as Gemma-2-9B's are over 4 GiB.
    completed = run(sidecar_env(tiny_models_root, tmp_path, SIDECAR_DEVICE="auto", COPE_CPU_MAX_WEIGHT_BYTES="1000"), [])
    assert completed.returncode == 78
    assert b"SIDECAR_DEVICE=auto found no usable CUDA device" in completed.stderr
    assert b"set SIDECAR_DEVICE=cpu" in completed.stderr
