"""Sidecar settings from the environment, checked at startup with errors that name the variable.

Model directories are resolved against MODELS_ROOT unless given as absolute paths. Nothing is
ever fetched from a model hub: a missing model file is a startup error (exit code 78) naming the
file, not a download (faster-whisper fetches a missing tokenizer.json from the hub, and assumes 80
mel bins without preprocessor_config.json, which a 128-bin large-v3 model rejects on every item).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .errors import ConfigError

BACKENDS = ("whisperx-cope", "fixture")
# Gemma-2's context window: the prompt, the policy and the content together.
GEMMA2_WINDOW_TOKENS = 8192
# WHISPERX_LANGUAGE=auto: detect per file (Whisper looks at the first 30 s only).
DETECT_LANGUAGE = "auto"


@dataclass(frozen=True)
class Settings:
    backend: str
    models_root: Path
    log_level: str
    device: str  # auto | cuda | cpu
    whisperx_dir: Path
    whisperx_align_dir: Path | None
    whisperx_align_language: str
    whisperx_language: str | None  # None: detected per file (WHISPERX_LANGUAGE=auto)
    whisperx_compute_type: str | None  # None: by device
    whisperx_batch_size: int
    nltk_data_dir: Path
    cope_base_dir: Path
    cope_adapter_dir: Path
    cope_merged_dir: Path
    cope_batch_size: int
    cope_max_tokens: int
    cope_chunk_overlap_tokens: int
    cope_attn_implementation: str
    cope_cpu_max_weight_bytes: int
    state_dir: Path
    fixture_seconds_per_item: float  # simulated inference time of the fixture backend (benchmarks)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        def get(name: str, default: str) -> str:
            value = env.get(name, "").strip()
            return value or default

        backend = get("SIDECAR_BACKEND", "whisperx-cope")
        if backend not in BACKENDS:
            raise ConfigError(
                f"SIDECAR_BACKEND is invalid ({backend!r}): must be one of {', '.join(BACKENDS)}; "
                "example: SIDECAR_BACKEND=fixture"
            )
        models_root = Path(get("MODELS_ROOT", "/data/models"))

        def model_dir(name: str, default: str) -> Path:
            path = Path(get(name, default))
            return path if path.is_absolute() else models_root / path

        align_set = bool(env.get("WHISPERX_ALIGN_DIR", "").strip())
        align_dir = model_dir("WHISPERX_ALIGN_DIR", "whisperx-align")
        device = get("SIDECAR_DEVICE", "auto")
        if device not in ("auto", "cuda", "cpu"):
            raise ConfigError(f"SIDECAR_DEVICE is invalid ({device!r}): use auto, cuda or cpu")
        # English by default: CoPE-A is tuned for US English, and an English-only model (*.en, or any
        # vocabulary under 51,865 tokens) cannot detect a language at all.
        language = get("WHISPERX_LANGUAGE", "en").lower()
        if language != DETECT_LANGUAGE and not re.fullmatch(r"[a-z]{2,3}", language):
            raise ConfigError(
                f"WHISPERX_LANGUAGE is invalid ({language!r}): a language code such as en, or auto to detect it per file"
            )
        return cls(
            backend=backend,
            models_root=models_root,
            log_level=get("SIDECAR_LOG_LEVEL", get("LOG_LEVEL", "info")),
            device=device,
            whisperx_dir=model_dir("WHISPERX_MODEL_DIR", "whisperx"),
            # Alignment is optional: used when its directory exists, required when named explicitly.
            whisperx_align_dir=align_dir if (align_set or align_dir.is_dir()) else None,
            whisperx_align_language=get("WHISPERX_ALIGN_LANGUAGE", "en"),
            whisperx_language=None if language == DETECT_LANGUAGE else language,
            whisperx_compute_type=env.get("WHISPERX_COMPUTE_TYPE", "").strip() or None,
            whisperx_batch_size=_int(env, "WHISPERX_BATCH_SIZE", 16, 1, 256),
            nltk_data_dir=model_dir("NLTK_DATA", "nltk_data"),
            cope_base_dir=model_dir("COPE_BASE_DIR", "gemma-2-9b"),
            cope_adapter_dir=model_dir("COPE_ADAPTER_DIR", "cope-a-lora"),
            cope_merged_dir=model_dir("COPE_MERGED_DIR", "cope-a-merged"),
            cope_batch_size=_int(env, "COPE_BATCH_SIZE", 4, 1, 256),
            cope_max_tokens=_int(
                env, "COPE_MAX_TOKENS", GEMMA2_WINDOW_TOKENS, 256, GEMMA2_WINDOW_TOKENS, "Gemma-2's context window"
            ),
            cope_chunk_overlap_tokens=_int(env, "COPE_CHUNK_OVERLAP_TOKENS", 128, 0, 100_000),
            # Gemma-2 caps its attention logits (soft-capping); transformers' sdpa path skips that.
            cope_attn_implementation=get("COPE_ATTN_IMPLEMENTATION", "eager"),
            # SIDECAR_DEVICE=auto without a usable GPU: a model this big would take many minutes to
            # load and score on the CPU (and its memory), so it is refused unless the CPU is asked for.
            cope_cpu_max_weight_bytes=_int(env, "COPE_CPU_MAX_WEIGHT_BYTES", 4 * 2**30, 0, 2**50),
            state_dir=Path(get("SIDECAR_STATE_DIR", _default_state_dir(env))),
            fixture_seconds_per_item=_seconds(env, "FIXTURE_SECONDS_PER_ITEM"),
        )

    def check_model_files(self) -> None:
        """For the real backends: every file their loaders read must exist, before any import."""
        missing: list[str] = []

        def need(directory: Path, variable: str, what: str, *alternatives: tuple[str, ...]) -> None:
            if not directory.is_dir():
                missing.append(f"{what} {directory} ({variable})")
                return
            for names in alternatives:
                if not any((directory / name).is_file() for name in names):
                    missing.append(f"{directory}/{' or '.join(names)} ({what}, {variable})")

        need(
            self.whisperx_dir,
            "WHISPERX_MODEL_DIR",
            "faster-whisper model",
            ("model.bin",),
            ("config.json",),
            ("tokenizer.json",),
            ("preprocessor_config.json",),
            ("vocabulary.json", "vocabulary.txt"),
        )
        if self.whisperx_align_dir is not None:
            need(
                self.whisperx_align_dir,
                "WHISPERX_ALIGN_DIR",
                "alignment model",
                ("config.json",),
                ("model.safetensors", "pytorch_model.bin"),
                ("preprocessor_config.json",),
                ("vocab.json",),
            )
            if not (self.nltk_data_dir / "tokenizers" / "punkt_tab").is_dir():
                # whisperx.align splits sentences with NLTK punkt_tab and would download it.
                missing.append(f"NLTK punkt_tab data {self.nltk_data_dir}/tokenizers/punkt_tab (NLTK_DATA)")
        weights = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
        tokenizer = ("tokenizer.json", "tokenizer.model")
        if self.cope_merged_dir.is_dir():
            need(self.cope_merged_dir, "COPE_MERGED_DIR", "CoPE-A merged model", ("config.json",), weights, tokenizer)
        else:
            need(self.cope_base_dir, "COPE_BASE_DIR", "Gemma-2-9B base model", ("config.json",), weights)
            need(
                self.cope_adapter_dir,
                "COPE_ADAPTER_DIR",
                f"CoPE-A LoRA adapter (or merged weights in {self.cope_merged_dir}, COPE_MERGED_DIR)",
                ("adapter_config.json",),
                ("adapter_model.safetensors", "adapter_model.bin"),
            )
            if self.cope_base_dir.is_dir() and self.cope_adapter_dir.is_dir():
                if not any((d / name).is_file() for d in (self.cope_adapter_dir, self.cope_base_dir) for name in tokenizer):
                    missing.append(f"{self.cope_base_dir}/tokenizer.json or tokenizer.model (Gemma-2 tokenizer, COPE_BASE_DIR)")
        if missing:
            raise ConfigError(f"missing under MODELS_ROOT={self.models_root}: " + "; ".join(missing))

    def model_dirs(self) -> list[Path]:
        """Every directory the real backends load, in MODELS_ROOT order of use."""
        dirs = [self.whisperx_dir]
        if self.whisperx_align_dir is not None:
            dirs += [self.whisperx_align_dir, self.nltk_data_dir]
        return dirs + self.cope_model_dirs()

    def cope_model_dirs(self) -> list[Path]:
        """The directories whose weights CoPE-A loads."""
        if self.cope_merged_dir.is_dir():
            return [self.cope_merged_dir]
        return [self.cope_base_dir, self.cope_adapter_dir]

    def prepare_real_backends(self, env: "os._Environ[str] | dict[str, str]") -> None:
        """Before torch, pyannote or transformers are imported: caches in the state dir, ffmpeg present.

        The VAD loader creates $TORCH_HOME (default ~/.cache/torch), which a service user may not be
        able to write; the hub libraries want a writable HF_HOME even offline.
        """
        if shutil.which("ffmpeg", path=env.get("PATH")) is None:
            raise ConfigError(f"ffmpeg is not on PATH ({env.get('PATH', '')}): the real backends decode audio with it")
        caches = {"TORCH_HOME": "torch", "HF_HOME": "huggingface", "MPLCONFIGDIR": "matplotlib"}
        for variable, name in caches.items():
            directory = Path(env.get(variable) or self.state_dir / name)
            try:
                directory.mkdir(parents=True, exist_ok=True)
                probe = tempfile.NamedTemporaryFile(dir=directory)
                probe.close()
            except OSError as error:
                source = variable if env.get(variable) else "SIDECAR_STATE_DIR"
                raise ConfigError(f"{source}: cannot write {directory} ({error.strerror})") from None
            env[variable] = str(directory)


def _default_state_dir(env: Mapping[str, str]) -> str:
    # systemd's StateDirectory= sets STATE_DIRECTORY (colon-separated when several).
    state = env.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return str(Path(state) / "sidecar")
    return str(Path(tempfile.gettempdir()) / f"audio-sidecar-{os.getuid()}")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int, why: str = "") -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} is invalid ({raw!r}): must be a whole number; example: {name}={default}") from None
    if not low <= value <= high:
        reason = f" ({why})" if why else ""
        raise ConfigError(f"{name} is invalid ({raw!r}): must be between {low} and {high}{reason}")
    return value


def _seconds(env: Mapping[str, str], name: str) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 60.0:
        raise ConfigError(f"{name} is invalid ({raw!r}): seconds between 0 and 60; example: {name}=0.05")
    return value


def force_offline(env: "os._Environ[str] | dict[str, str]") -> None:
    """Nothing leaves the host at run time, whatever the caller's environment says.

    Must run before pyannote is imported: pyannote 4 sends usage metrics (file durations, a session
    id) to its vendor's host unless PYANNOTE_METRICS_ENABLED is false when it loads; OTEL_SDK_DISABLED
    keeps the OpenTelemetry SDK it sets up from exporting anything at all.
    """
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    env["HF_DATASETS_OFFLINE"] = "1"
    env["HF_HUB_DISABLE_TELEMETRY"] = "1"
    env["PYANNOTE_METRICS_ENABLED"] = "false"
    env["OTEL_SDK_DISABLED"] = "true"
