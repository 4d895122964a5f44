"""Creates the sidecar's Python virtual environment from the pinned requirement files, idempotently.

    python3 apps/gpu/sidecar/make_venv.py                 the CPU venv (CI, laptops) in apps/gpu/sidecar/.venv
    python3 apps/gpu/sidecar/make_venv.py --kind gpu      a GPU host's venv (CUDA torch 2.8) in .venv-gpu
    python3 apps/gpu/sidecar/make_venv.py --venv DIR      somewhere else (e.g. /opt/audio-pipeline/sidecar-venv)
    python3 apps/gpu/sidecar/make_venv.py --check         exit 1 (saying why) unless the venv is up to date

A stamp in the venv holds a hash of the requirement files, this recipe and the base interpreter's
version: when it matches, nothing is done (a few milliseconds). Otherwise the venv is made afresh
and the stamp written last, so an interrupted build is rebuilt next time. Standard library only; the
base interpreter is the one running this script (Python 3.10-3.13).

Kinds:
  cpu  requirements-cpu.txt, every package pinned, installed with --no-deps: torch 2.13's CPU build
       (whisperX declares torch~=2.8, whose PyPI build is CUDA and several GB). torchaudio's compiled
       ops are CUDA builds and are removed: torchaudio then runs its pure-Python parts (resampling,
       filterbanks), all the sidecar's code path uses.
  gpu  requirements-gpu.txt with constraints-gpu.txt (every transitive package pinned).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPE_VERSION = "1"  # bump when the steps below change
STAMP = "audio-sidecar-venv.json"
KINDS = {
    "cpu": {"files": ["requirements-cpu.txt"], "venv": ".venv"},
    "gpu": {"files": ["requirements-gpu.txt", "constraints-gpu.txt"], "venv": ".venv-gpu"},
}
CPU_TORCH_HINT = (
    "the CPU venv needs torch==2.13.0+cpu: CI machines hold it on disk (pip's find-links); elsewhere add "
    "PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu"
)


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def wanted_stamp(kind: str) -> dict:
    digest = hashlib.sha256(f"{kind}\n{RECIPE_VERSION}\n".encode())
    for name in KINDS[kind]["files"]:
        digest.update(name.encode() + b"\n" + (HERE / name).read_bytes())
    python = ".".join(map(str, sys.version_info[:3]))
    return {"kind": kind, "requirements": digest.hexdigest(), "python": python}


def stamp_problem(venv: Path, kind: str) -> str | None:
    """Why the venv is not usable as it is, or None when it is up to date."""
    stamp_file = venv / STAMP
    if not venv_python(venv).exists() or not stamp_file.is_file():
        return f"no sidecar venv at {venv}"
    try:
        stamp = json.loads(stamp_file.read_text())
    except ValueError:
        return f"unreadable stamp {stamp_file}"
    wanted = wanted_stamp(kind)
    if stamp.get("kind") != kind:
        return f"{venv} is a {stamp.get('kind')} venv, not {kind}"
    if stamp.get("requirements") != wanted["requirements"]:
        return f"the requirement files changed since {venv} was made"
    if stamp.get("python") != wanted["python"]:
        return f"{venv} was made with Python {stamp.get('python')}, this is {wanted['python']}"
    return None


def pins(path: Path) -> dict[str, str]:
    """name -> version of the ``name==version`` lines (markers that do not apply to us are skipped)."""
    result = {}
    here = {"python_version": ".".join(map(str, sys.version_info[:2]))}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement, _, marker = line.partition(";")
        allowed = re.findall(r'python_version == "([\d.]+)"', marker)
        if allowed and here["python_version"] not in allowed:
            continue
        name, _, version = requirement.strip().partition("==")
        result[normalize(name)] = version.strip()
    return result


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(venv: Path) -> dict[str, str]:
    script = "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    output = subprocess.run([str(venv_python(venv)), "-c", script], check=True, capture_output=True, text=True).stdout
    return {normalize(name): version for name, version in json.loads(output).items()}


def verify(venv: Path, kind: str) -> None:
    """Every pinned package at its pinned version, and (gpu) nothing that the constraints do not pin."""
    if kind == "cpu":
        expected = pins(HERE / "requirements-cpu.txt")
    else:
        expected = {**pins(HERE / "constraints-gpu.txt"), **pins(HERE / "requirements-gpu.txt")}
    found = installed(venv)
    wrong = [f"{n} {found.get(n, 'missing')} (pinned {v})" for n, v in expected.items() if found.get(n) != v and not _same_release(found.get(n), v)]
    if kind == "gpu":
        tools = {"pip", "setuptools", "wheel"}
        wrong += [f"{n} {v} (not pinned in requirements-gpu.txt or constraints-gpu.txt)" for n, v in found.items() if n not in expected and n not in tools]
    if wrong:
        raise SystemExit(f"make_venv: {venv} does not match the pins: " + "; ".join(sorted(wrong)))


def _same_release(found: str | None, pinned: str) -> bool:
    # torch==2.8.0 (constraints) is installed as 2.8.0+cu128: the local label is the build, not the release.
    return found is not None and "+" not in pinned and found.split("+")[0] == pinned


def pip(venv: Path, *args: str) -> None:
    command = [str(venv_python(venv)), "-m", "pip", "install", "--no-input", "--progress-bar", "off", "-q", *args]
    completed = subprocess.run(command, cwd=HERE)
    if completed.returncode != 0:
        hint = f"\n  ({CPU_TORCH_HINT})" if "requirements-cpu.txt" in args else ""
        raise SystemExit(f"make_venv: pip failed (exit {completed.returncode}): {' '.join(command)}{hint}")


def build(venv: Path, kind: str) -> None:
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if kind == "cpu":
        pip(venv, "--no-deps", "-r", "requirements-cpu.txt")
        site = Path(
            subprocess.run(
                [str(venv_python(venv)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
        )
        # PyPI's torchaudio is built against CUDA torch; without its ops it runs its Python parts.
        for library in (site / "torchaudio" / "lib").glob("*.so"):
            library.unlink()
    else:
        pip(venv, "-r", "requirements-gpu.txt", "-c", "constraints-gpu.txt")
    verify(venv, kind)
    (venv / STAMP).write_text(json.dumps(wanted_stamp(kind)) + "\n")


@contextlib.contextmanager
def locked(venv: Path):
    """One builder at a time for a venv (bootstrap and `pnpm test` may both ask)."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=sorted(KINDS), default=os.environ.get("SIDECAR_VENV_KIND", "cpu"))
    parser.add_argument("--venv", type=Path, help="where (default: apps/gpu/sidecar/.venv, or .venv-gpu for --kind gpu)")
    parser.add_argument("--check", action="store_true", help="only say whether it is up to date (exit 1 if not)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    venv = (args.venv or HERE / KINDS[args.kind]["venv"]).absolute()
    say = (lambda _m: None) if args.quiet else (lambda m: print(f"make_venv: {m}", file=sys.stderr))

    problem = stamp_problem(venv, args.kind)
    if args.check:
        if problem:
            print(f"make_venv: {problem}; create it with: python3 {Path(__file__).resolve()} --kind {args.kind}", file=sys.stderr)
            return 1
        return 0
    if problem is None:
        say(f"{args.kind} venv {venv} is up to date")
        return 0
    with locked(venv):
        problem = stamp_problem(venv, args.kind)  # someone else may have built it meanwhile
        if problem is None:
            return 0
        say(f"{problem}: creating the {args.kind} venv (minutes, once)")
        started = time.monotonic()
        build(venv, args.kind)
        size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink())
        say(f"{args.kind} venv {venv} created in {time.monotonic() - started:.0f} s, {size / 2**30:.1f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
