"""``python3 -m audio_sidecar`` as a process: stdout carries protocol lines only, config errors exit 78."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import SIDECAR_DIR


def run_sidecar(code_or_module: list[str], stdin: bytes, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *code_or_module],
        input=stdin,
        capture_output=True,
        cwd=SIDECAR_DIR,
        env={**os.environ, "PYTHONPATH": str(SIDECAR_DIR), **env},
        timeout=60,
    )


def test_stray_prints_and_c_level_writes_go_to_stderr() -> None:
    script = (
        "from audio_sidecar.channel import ProtocolChannel\n"
        "import os\n"
        "channel = ProtocolChannel.take_over_stdout()\n"
        "print('a library print')\n"
        "os.write(1, b'a C library write to fd 1\\n')\n"
        "channel.send({'type': 'ready'})\n"
    )
    completed = run_sidecar(["-c", script], b"")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.decode().splitlines() == ['{"type":"ready"}']
    assert "a library print" in completed.stderr.decode()
    assert "a C library write to fd 1" in completed.stderr.decode()


def test_fixture_sidecar_serves_until_stdin_closes(audio, demo_policy_wire) -> None:
    path = str(audio.opus("main.opus", "plant a bomb"))
    request = {"id": "r", "op": "process", "items": [{"key": "a", "path": path}], "policy": demo_policy_wire}
    completed = run_sidecar(["-m", "audio_sidecar"], (json.dumps(request) + "\n").encode(), SIDECAR_BACKEND="fixture")
    assert completed.returncode == 0, completed.stderr
    replies = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [r["type"] for r in replies] == ["ready", "result"]
    assert replies[1]["items"][0]["classification"]["flagged"] is True
    # Logs are JSON lines on stderr.
    logs = [json.loads(line) for line in completed.stderr.splitlines()]
    assert any(entry["msg"] == "sidecar ready" and entry["level"] == "info" for entry in logs)


def test_the_fixture_backend_needs_only_the_standard_library(audio, demo_policy_wire) -> None:
    # -S: no site-packages at all, as with a bare python3 that has nothing installed.
    path = str(audio.opus("stdlib.opus", "a quiet afternoon"))
    request = {"id": "r", "op": "process", "items": [{"key": "a", "path": path}], "policy": demo_policy_wire}
    completed = run_sidecar(["-S", "-m", "audio_sidecar"], (json.dumps(request) + "\n").encode(), SIDECAR_BACKEND="fixture")
    assert completed.returncode == 0, completed.stderr
    replies = [json.loads(line) for line in completed.stdout.splitlines()]
    assert replies[1]["items"][0]["transcript"]["text"] == "a quiet afternoon"


def test_missing_model_dirs_exit_78_naming_them(tmp_path: Path) -> None:
    completed = run_sidecar(["-m", "audio_sidecar"], b"", SIDECAR_BACKEND="whisperx-cope", MODELS_ROOT=str(tmp_path))
    assert completed.returncode == 78
    assert completed.stdout == b""
    stderr = completed.stderr.decode()
    assert f"{tmp_path}/whisperx" in stderr and "WHISPERX_MODEL_DIR" in stderr
    assert "COPE_BASE_DIR" in stderr and "COPE_ADAPTER_DIR" in stderr


def test_unknown_backend_exits_78() -> None:
    completed = run_sidecar(["-m", "audio_sidecar"], b"", SIDECAR_BACKEND="magic")
    assert completed.returncode == 78
    assert "SIDECAR_BACKEND is invalid ('magic')" in completed.stderr.decode()


def test_real_backends_import_lazily() -> None:
    script = (
        "import sys\n"
        "import audio_sidecar.__main__, audio_sidecar.backends, audio_sidecar.backends.whisperx_cope\n"
        "heavy = [m for m in ('torch', 'whisperx', 'transformers', 'peft') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    completed = run_sidecar(["-c", script], b"")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.decode().strip() == "[]"
