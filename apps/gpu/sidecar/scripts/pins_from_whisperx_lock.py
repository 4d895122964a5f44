"""Writes constraints-gpu.txt and requirements-cpu.txt from whisperX's own lock file.

    python3 scripts/pins_from_whisperx_lock.py PATH/TO/whisperX/uv.lock   (run in apps/gpu/sidecar)

whisperX 3.8.6 ships a uv.lock (github.com/m-bain/whisperX, tag v3.8.6) that pins every package it
was tested with, pyannote-audio 4.0.4 with lightning 2.5.5 included. Pinning only the top level lets
pip pick newer transitive releases (lightning 2.6 breaks pyannote's VAD checkpoint), so both of our
pin files list every package of the venv, taken from that lock for Linux x86_64, plus the packages
the CoPE-A classifier adds (EXTRA). The two files differ only in the torch stack (CPU_OVERRIDES).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

PYTHONS = ("3.10", "3.11", "3.12", "3.13")  # whisperx 3.8.6: requires-python >=3.10,<3.14
CPU_PYTHONS = ("3.11", "3.12", "3.13")  # torch 2.13 (the CPU build) needs 3.10+; the CI machine has 3.11

# Beside whisperX: CoPE-A (peft merges the LoRA; accelerate is peft's), Gemma's slow tokenizer, pytest
# for the sidecar's tests (gpu:check runs them on the host). Versions of late 2025, as the lock.
EXTRA = {
    "faster-whisper": "1.2.1",  # the lock has 1.2.0; 1.2.1 is the release our loader checks were read against
    "peft": "0.17.1",
    "accelerate": "1.10.1",
    "psutil": "7.1.0",
    "sentencepiece": "0.2.1",
}

# The CPU venv (CI, laptops): torch 2.13's CPU build instead of CUDA torch 2.8 (whisperX pins ~=2.8,
# whose index build is CUDA: several GB), so it is installed with --no-deps. torchaudio 2.8.0 keeps
# the GPU hosts' Python code; its compiled ops are built for CUDA and are removed after install
# (make_venv.py). torchcodec 0.7 cannot load beside torch 2.13; 0.13 can. Not needed on the CPU:
# CUDA libraries, triton, torchvision (whisperX declares it and never imports it).
CPU_OVERRIDES = {"torch": "2.13.0+cpu", "torchaudio": "2.8.0", "torchcodec": "0.13.0", "setuptools": "80.9.0"}
CPU_DROP_PREFIXES = ("nvidia-", "triton", "torchvision")

ROOTS = ["whisperx", "pytest"]


def environment(python: str) -> dict[str, str]:
    return {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "platform_python_implementation": "CPython",
        "implementation_name": "cpython",
        "os_name": "posix",
        "python_version": python,
        "python_full_version": f"{python}.0",
        "extra": "",
    }


def resolve(lock: dict, python: str) -> dict[str, str]:
    """Every package reachable from ROOTS for one Python version: name -> version."""
    by_name: dict[str, list[dict]] = {}
    for package in lock["package"]:
        by_name.setdefault(package["name"], []).append(package)
    env = environment(python)

    def pick(dep: dict) -> dict:
        candidates = by_name[dep["name"]]
        if "version" in dep:
            candidates = [c for c in candidates if c["version"] == dep["version"]]
        if len(candidates) != 1:
            raise SystemExit(f"ambiguous lock entry for {dep}")
        return candidates[0]

    chosen: dict[str, str] = {}
    todo: list[tuple[dict, tuple[str, ...]]] = [({"name": root}, ()) for root in ROOTS]
    while todo:
        dep, extras = todo.pop()
        package = pick(dep)
        name = package["name"]
        if name in chosen and not extras:
            continue
        chosen[name] = package["version"]
        deps = list(package.get("dependencies", []))
        for extra in extras:
            deps += package.get("optional-dependencies", {}).get(extra, [])
        for child in deps:
            if "marker" in child and not Marker(child["marker"]).evaluate(env):
                continue
            todo.append((child, tuple(child.get("extra", ()))))
    return chosen


def lines(per_python: dict[str, dict[str, str]], pythons: tuple[str, ...]) -> list[str]:
    names = sorted({n for pins in per_python.values() for n in pins}, key=canonicalize_name)
    out = []
    for name in names:
        versions: dict[str, list[str]] = {}
        for python in pythons:
            version = per_python[python].get(name)
            if version:
                versions.setdefault(version, []).append(python)
        for version, where in versions.items():
            if len(where) == len(pythons):
                out.append(f"{name}=={version}")
            else:
                marker = " or ".join(f'python_version == "{p}"' for p in where)
                out.append(f"{name}=={version} ; {marker}")
    return out


def main(lock_path: str) -> None:
    lock = tomllib.loads(Path(lock_path).read_text())
    gpu: dict[str, dict[str, str]] = {}
    cpu: dict[str, dict[str, str]] = {}
    for python in PYTHONS:
        pins = resolve(lock, python)
        pins.pop("whisperx")
        pins.update(EXTRA)
        # PyPI's Linux builds of torch 2.8 are the CUDA 12.8 ones: no extra index needed.
        pins = {n: v.split("+")[0] for n, v in pins.items()}
        gpu[python] = pins
        if python in CPU_PYTHONS:
            cpu_pins = {n: v for n, v in pins.items() if not n.startswith(CPU_DROP_PREFIXES)}
            cpu_pins.update(CPU_OVERRIDES)
            cpu[python] = cpu_pins
    here = Path(__file__).resolve().parent.parent
    source = "generated by scripts/pins_from_whisperx_lock.py from whisperX 3.8.6's uv.lock (Linux x86_64)"
    (here / "constraints-gpu.txt").write_text(
        "# Every package of a GPU host's sidecar venv (CUDA 12.8 torch 2.8), "
        + source
        + ".\n# Use with requirements-gpu.txt: pip install -r requirements-gpu.txt -c constraints-gpu.txt\n"
        + "\n".join(lines(gpu, PYTHONS))
        + "\n"
    )
    (here / "requirements-cpu.txt").write_text(
        "# Every package of the CPU venv (CI, laptops: torch 2.13 CPU), "
        + source
        + ",\n# with the torch stack swapped for CPU builds. Installed with --no-deps (whisperx declares"
        + " torch~=2.8),\n# by make_venv.py, which also removes torchaudio's CUDA-built ops. Same versions"
        + " as constraints-gpu.txt\n# otherwise (a test checks it).\n"
        + "\n".join(["whisperx==3.8.6", *lines(cpu, CPU_PYTHONS)])
        + "\n"
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
