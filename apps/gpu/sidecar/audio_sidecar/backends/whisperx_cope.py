"""The ``whisperx-cope`` backend: WhisperX transcribes each item, CoPE-A classifies the batch.

Importing this module imports nothing heavy; the models (and torch) load when the backend is
constructed, which happens only when SIDECAR_BACKEND selects it.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, Sequence

from ..config import Settings
from ..errors import ConfigError, ItemError
from ..model_versions import read_model_versions
from ..policy import Policy
from ..protocol import Item, failed_item, ok_item
from .audio_decode import load_audio
from .device import pick_device

# Items decoded ahead of the one being transcribed: ffmpeg runs on the CPU while the GPU works, and a
# batch of hour-long files is never all in memory at once (an hour at 16 kHz is 230 MB of float32).
DECODE_AHEAD = 3


class WhisperxCopeBackend:
    name = "whisperx-cope"

    def __init__(self, settings: Settings, log: logging.Logger) -> None:
        from .cope_classifier import CopeClassifier
        from .whisperx_transcriber import WhisperxTranscriber

        self.device = pick_device(settings.device)
        if settings.device == "auto" and self.device == "cpu":
            _refuse_big_model_on_cpu(settings)
        self._log = log
        self._transcriber = WhisperxTranscriber(settings, self.device, log)
        self._classifier = CopeClassifier(settings, self.device, log)
        self._decoders = ThreadPoolExecutor(max_workers=DECODE_AHEAD, thread_name_prefix="decode")
        self._model_versions = read_model_versions(settings.model_dirs())

    def models(self) -> dict[str, str]:
        models = {"transcribe": self._transcriber.model_name, "classify": self._classifier.model_name}
        if self._transcriber.align_model_name:
            models["align"] = self._transcriber.align_model_name
        return models

    def model_versions(self) -> dict[str, str]:
        return dict(self._model_versions)

    def process(self, items: Sequence[Item], policy: Policy) -> list[dict]:
        results: list[dict | None] = [None] * len(items)
        transcripts = {}
        for index, item, decoded in self._decoded(items):
            if not os.path.isfile(item.path):
                results[index] = failed_item(item.key, "not_found", f"no such file: {item.path}")
                continue
            try:
                transcripts[index] = self._transcriber.transcribe_audio(decoded.result(), item.path)
            except ItemError as error:
                results[index] = failed_item(item.key, error.code, error.message)
            except Exception as error:
                self._log.exception("transcription failed", extra={"key": item.key})
                results[index] = failed_item(item.key, "transcribe_error", f"{type(error).__name__}: {error}")

        indexes = list(transcripts)
        try:
            verdicts = self._classifier.classify([transcripts[i].text for i in indexes], policy)
        except Exception as error:
            self._log.exception("classification failed", extra={"items": len(indexes)})
            verdicts = [ItemError(f"{type(error).__name__}: {error}", "classify_error")] * len(indexes)

        for index, verdict in zip(indexes, verdicts):
            key = items[index].key
            if isinstance(verdict, ItemError):
                results[index] = failed_item(key, "classify_error", verdict.message)
                continue
            t = transcripts[index]
            transcript = {"text": t.text, "language": t.language, "segments": t.segments, "model": self._transcriber.model_name}
            classification = {
                **policy.echo(),
                "flagged": verdict.flagged,
                "score": verdict.score,
                "model": self._classifier.model_name,
            }
            results[index] = ok_item(key, transcript, classification, t.duration_seconds)
        return [r for r in results if r is not None]

    def _decoded(self, items: Sequence[Item]) -> Iterator[tuple[int, Item, Future]]:
        """Each item with its decoding under way, up to DECODE_AHEAD items ahead."""
        ahead: deque[tuple[int, Item, Future]] = deque()
        for index, item in enumerate(items):
            ahead.append((index, item, self._decoders.submit(load_audio, item.path)))
            if len(ahead) > DECODE_AHEAD:
                yield ahead.popleft()
        yield from ahead

    def close(self) -> None:
        self._decoders.shutdown(cancel_futures=True)


def _refuse_big_model_on_cpu(settings: Settings) -> None:
    """auto found no GPU: a 9B model on the CPU would outlast the ready timeout (and the memory)."""
    weights = sum(
        f.stat().st_size
        for directory in settings.cope_model_dirs()
        for f in Path(directory).iterdir()
        if f.suffix in (".safetensors", ".bin", ".pt") and f.is_file()
    )
    if weights > settings.cope_cpu_max_weight_bytes:
        raise ConfigError(
            f"SIDECAR_DEVICE=auto found no usable CUDA device, and CoPE-A's weights are {weights / 2**30:.1f} GiB: "
            "too big to load and run on the CPU in time; fix the GPU, or set SIDECAR_DEVICE=cpu to run on the CPU anyway"
        )
