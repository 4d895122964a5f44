"""Sidecar settings from the environment, checked at startup with errors that name the variable.

Model directories are resolved against MODELS_ROOT unless given as absolute paths. Nothing is
ever fetched from a model hub: a missing directory is a startup error (exit code 78), not a
download.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .errors import ConfigError

BACKENDS = ("whisperx-cope", "fixture")


@dataclass(frozen=True)
class Settings:
    backend: str
    models_root: Path
    log_level: str
    device: str  # auto | cuda | cpu
    whisperx_dir: Path
    whisperx_align_dir: Path | None
    whisperx_align_language: str
    whisperx_language: str | None
    whisperx_compute_type: str | None  # None: by device
    whisperx_batch_size: int
    nltk_data_dir: Path
    cope_base_dir: Path
    cope_adapter_dir: Path
    cope_merged_dir: Path
    cope_batch_size: int
    cope_max_tokens: int
    cope_chunk_overlap_tokens: int
    cope_attn_implementation: str | None  # None: transformers' default for Gemma-2

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
        return cls(
            backend=backend,
            models_root=models_root,
            log_level=get("SIDECAR_LOG_LEVEL", get("LOG_LEVEL", "info")),
            device=device,
            whisperx_dir=model_dir("WHISPERX_MODEL_DIR", "whisperx"),
            # Alignment is optional: used when its directory exists, required when named explicitly.
            whisperx_align_dir=align_dir if (align_set or align_dir.is_dir()) else None,
            whisperx_align_language=get("WHISPERX_ALIGN_LANGUAGE", "en"),
            whisperx_language=env.get("WHISPERX_LANGUAGE", "").strip() or None,
            whisperx_compute_type=env.get("WHISPERX_COMPUTE_TYPE", "").strip() or None,
            whisperx_batch_size=_int(env, "WHISPERX_BATCH_SIZE", 16, 1, 256),
            nltk_data_dir=model_dir("NLTK_DATA", "nltk_data"),
            cope_base_dir=model_dir("COPE_BASE_DIR", "gemma-2-9b"),
            cope_adapter_dir=model_dir("COPE_ADAPTER_DIR", "cope-a-lora"),
            cope_merged_dir=model_dir("COPE_MERGED_DIR", "cope-a-merged"),
            cope_batch_size=_int(env, "COPE_BATCH_SIZE", 4, 1, 256),
            cope_max_tokens=_int(env, "COPE_MAX_TOKENS", 8192, 256, 1_000_000),
            cope_chunk_overlap_tokens=_int(env, "COPE_CHUNK_OVERLAP_TOKENS", 128, 0, 100_000),
            cope_attn_implementation=env.get("COPE_ATTN_IMPLEMENTATION", "").strip() or None,
        )

    def check_model_dirs(self) -> None:
        """For the real backends: every directory they will load must exist, before any import."""
        missing: list[str] = []
        if not self.whisperx_dir.is_dir():
            missing.append(f"WhisperX model {self.whisperx_dir} (WHISPERX_MODEL_DIR)")
        if self.whisperx_align_dir is not None:
            if not self.whisperx_align_dir.is_dir():
                missing.append(f"alignment model {self.whisperx_align_dir} (WHISPERX_ALIGN_DIR)")
            if not (self.nltk_data_dir / "tokenizers" / "punkt_tab").is_dir():
                # whisperx.align splits sentences with NLTK punkt_tab and would download it.
                missing.append(f"NLTK punkt_tab data {self.nltk_data_dir}/tokenizers/punkt_tab (NLTK_DATA)")
        if not self.cope_merged_dir.is_dir():
            if not self.cope_base_dir.is_dir():
                missing.append(f"Gemma-2-9B base model {self.cope_base_dir} (COPE_BASE_DIR)")
            if not (self.cope_adapter_dir / "adapter_config.json").is_file():
                missing.append(
                    f"CoPE-A LoRA adapter {self.cope_adapter_dir}/adapter_config.json (COPE_ADAPTER_DIR), "
                    f"or merged weights in {self.cope_merged_dir} (COPE_MERGED_DIR)"
                )
        if missing:
            raise ConfigError(f"missing under MODELS_ROOT={self.models_root}: " + "; ".join(missing))


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} is invalid ({raw!r}): must be a whole number; example: {name}={default}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} is invalid ({raw!r}): must be between {low} and {high}")
    return value


def force_offline(env: "os._Environ[str] | dict[str, str]") -> None:
    """No hub traffic at run time, whatever the caller's environment says."""
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    env["HF_DATASETS_OFFLINE"] = "1"
    env["HF_HUB_DISABLE_TELEMETRY"] = "1"
