"""The pin files: the CPU venv (CI) tests the GPU hosts' versions, and this venv holds exactly them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import SIDECAR_DIR

sys.path.insert(0, str(SIDECAR_DIR))
import make_venv  # noqa: E402

# What the CPU venv swaps or leaves out, and why (make_venv.py, scripts/pins_from_whisperx_lock.py).
TORCH_STACK = {"torch", "torchaudio", "torchcodec", "torchvision", "triton"}


def _all_pins(path: Path) -> dict[str, set[str]]:
    """name -> versions over every Python version's lines (markers ignored)."""
    result: dict[str, set[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {raw!r} is not pinned with =="
            result.setdefault(make_venv.normalize(name), set()).add(version)
    return result


def test_cpu_and_gpu_pins_differ_only_in_the_torch_stack() -> None:
    # For this interpreter's Python version (the markers select the lines).
    cpu = make_venv.pins(SIDECAR_DIR / "requirements-cpu.txt")
    gpu = make_venv.pins(SIDECAR_DIR / "constraints-gpu.txt")
    gpu_only = {n for n in gpu if n.startswith("nvidia-")} | TORCH_STACK
    for name in (set(cpu) | set(gpu)) - gpu_only - {"whisperx"}:
        assert cpu.get(name) == gpu.get(name), f"{name}: cpu {cpu.get(name)} vs gpu {gpu.get(name)}"
    assert cpu["torch"] == "2.13.0+cpu" and gpu["torch"] == "2.8.0"


def test_every_top_level_gpu_requirement_is_in_the_constraints_at_the_same_version() -> None:
    top = _all_pins(SIDECAR_DIR / "requirements-gpu.txt")
    constraints = _all_pins(SIDECAR_DIR / "constraints-gpu.txt")
    assert "whisperx" in top
    for name, versions in top.items():
        if name != "whisperx":
            assert versions <= constraints.get(name, set()), name


def test_pyannote_and_lightning_are_the_pair_that_loads_the_vad_checkpoint() -> None:
    # pyannote-audio 4.0.1 with lightning >= 2.6 cannot load whisperX's VAD checkpoint.
    for name in ("requirements-gpu.txt", "constraints-gpu.txt", "requirements-cpu.txt"):
        pins = _all_pins(SIDECAR_DIR / name)
        assert pins["pyannote-audio"] == {"4.0.4"} and pins["lightning"] == {"2.5.5"}, name


def test_this_venv_holds_exactly_its_pins() -> None:
    venv = Path(sys.prefix)
    stamp = venv / make_venv.STAMP
    assert stamp.is_file(), f"the sidecar tests run in a venv made by make_venv.py, not {venv}"
    make_venv.verify(venv, json.loads(stamp.read_text())["kind"])  # cpu in CI, gpu under gpu:check


def test_pip_check_reports_only_the_torch_stack_swap() -> None:
    # --no-deps installs: anything missing beyond what the CPU venv leaves out on purpose shows here.
    report = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True).stdout
    for line in report.splitlines():
        assert any(part in line for part in TORCH_STACK), line
