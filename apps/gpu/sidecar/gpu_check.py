"""`pnpm gpu:check`: the real backends on a CUDA host, in under 10 minutes, ending in one JSON line.

    python3 apps/gpu/sidecar/gpu_check.py                    on a GPU host (NVIDIA driver for CUDA 12.8)
    python3 apps/gpu/sidecar/gpu_check.py --kind cpu --device cpu   the same steps on the CPU venv (a dry run)

1. Makes the GPU venv from requirements-gpu.txt + constraints-gpu.txt (make_venv.py --kind gpu, in
   apps/gpu/sidecar/.venv-gpu; a few minutes the first time, nothing when up to date).
2. Reports what the venv sees: torch's CUDA build and device, bf16 support, CTranslate2's CUDA devices.
3. Runs the tiny-model tests on the device (SIDECAR_TEST_DEVICE=cuda): faster-whisper in float16 with
   pyannote's VAD on the GPU, CoPE-A's Gemma-2 in bfloat16 with eager attention, the whole sidecar
   process with SIDECAR_BACKEND=whisperx-cope, the pins against the venv.

The last line of stdout is a JSON object with `ok`; the exit code is 0 only when everything passed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = ["tests/test_whisperx_tiny.py", "tests/test_cope_tiny.py", "tests/test_real_sidecar.py", "tests/test_pins.py"]
PROBE = """
import json, torch, ctranslate2
cuda = torch.cuda.is_available()
print(json.dumps({
    "torch": torch.__version__,
    "torchCuda": torch.version.cuda,
    "cudaAvailable": cuda,
    "gpu": torch.cuda.get_device_name(0) if cuda else None,
    "bf16": bool(cuda and torch.cuda.is_bf16_supported()),
    "ctranslate2": ctranslate2.__version__,
    "ctranslate2CudaDevices": ctranslate2.get_cuda_device_count(),
    "ctranslate2ComputeTypes": sorted(ctranslate2.get_supported_compute_types("cuda")) if cuda else [],
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=("gpu", "cpu"), default="gpu", help="which venv (default gpu)")
    parser.add_argument("--venv", type=Path, help="default: apps/gpu/sidecar/.venv-gpu (.venv for --kind cpu)")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    args = parser.parse_args()
    venv = (args.venv or HERE / (".venv-gpu" if args.kind == "gpu" else ".venv")).absolute()
    python = venv / "bin" / "python"
    report: dict = {"ok": False, "kind": args.kind, "device": args.device, "venv": str(venv)}
    started = time.monotonic()

    def finish(ok: bool) -> int:
        report["ok"] = ok
        report["totalSeconds"] = round(time.monotonic() - started, 1)
        print(json.dumps(report))
        return 0 if ok else 1

    step = time.monotonic()
    made = subprocess.run([sys.executable, str(HERE / "make_venv.py"), "--kind", args.kind, "--venv", str(venv)])
    report["venvSeconds"] = round(time.monotonic() - step, 1)
    if made.returncode != 0:
        report["error"] = "could not make the venv (see above)"
        return finish(False)
    report["venvBytes"] = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink())

    probe = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True)
    if probe.returncode != 0:
        report["error"] = f"torch/ctranslate2 do not load: {probe.stderr.strip().splitlines()[-1:]}"
        return finish(False)
    report.update(json.loads(probe.stdout))
    if args.device == "cuda" and not (report["cudaAvailable"] and report["ctranslate2CudaDevices"] > 0):
        report["error"] = "no CUDA device visible to torch and CTranslate2 (driver? CUDA_VISIBLE_DEVICES?)"
        return finish(False)

    step = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as scratch:
        junit = Path(scratch) / "junit.xml"
        env = {**os.environ, "SIDECAR_TEST_DEVICE": args.device, "HF_HUB_OFFLINE": "1"}
        tests = subprocess.run(
            [str(python), "-m", "pytest", *TESTS, "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"],
            cwd=HERE,
            env=env,
        )
        report["testSeconds"] = round(time.monotonic() - step, 1)
        report["tests"] = _counts(junit)
    return finish(tests.returncode == 0 and report["tests"]["failed"] == 0 and report["tests"]["passed"] > 0)


def _counts(junit: Path) -> dict:
    if not junit.is_file():
        return {"passed": 0, "failed": 0, "skipped": 0, "error": "pytest wrote no report"}
    suite = ElementTree.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    total, failures, errors, skipped = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
    return {"passed": total - failures - errors - skipped, "failed": failures + errors, "skipped": skipped}


if __name__ == "__main__":
    sys.exit(main())
