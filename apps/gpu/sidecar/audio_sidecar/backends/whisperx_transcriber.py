"""WhisperX: faster-whisper (CTranslate2) transcription with VAD batching, optional alignment.

Loaded from local directories only (``local_files_only``; HF_HUB_OFFLINE=1 is set by main):
WHISPERX_MODEL_DIR is a faster-whisper CTranslate2 model directory; WHISPERX_ALIGN_DIR, when
present, a wav2vec2 CTC model for WHISPERX_ALIGN_LANGUAGE that refines segment times. VAD is
pyannote's, whose weights ship inside the whisperx package. Importing this module imports
whisperx and torch: only the ``whisperx-cope`` backend does, and only when selected.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from ..config import Settings
from ..errors import ConfigError, ItemError
from .audio_decode import SAMPLE_RATE, load_audio


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    segments: list[dict]
    duration_seconds: float


class WhisperxTranscriber:
    def __init__(self, settings: Settings, device: str, log: logging.Logger) -> None:
        # whisperx.align splits sentences with NLTK's punkt_tab; NLTK reads NLTK_DATA on import and
        # would otherwise try to download it.
        os.environ["NLTK_DATA"] = str(settings.nltk_data_dir)
        import whisperx

        self._whisperx = whisperx
        self._device = device
        self._log = log
        self._batch_size = settings.whisperx_batch_size
        compute_type = settings.whisperx_compute_type or ("float16" if device == "cuda" else "int8")
        # Named by the resolved directory: a link to a versioned model set names the version.
        self.model_name = f"whisperx:{settings.whisperx_dir.resolve().name}"
        log.info("loading WhisperX", extra={"model": str(settings.whisperx_dir), "computeType": compute_type})
        self._model = whisperx.load_model(
            str(settings.whisperx_dir),
            device,
            compute_type=compute_type,
            language=settings.whisperx_language,  # None: detected per file
            vad_method="pyannote",  # bundled weights; "silero" would fetch from torch.hub
            local_files_only=True,
            threads=min(4, os.cpu_count() or 4),
        )
        _check_model(self._model, settings)
        self._align_language = settings.whisperx_align_language
        self._align_model = self._align_metadata = None
        self.align_model_name = None
        if settings.whisperx_align_dir is not None:
            log.info("loading alignment model", extra={"model": str(settings.whisperx_align_dir)})
            self._align_model, self._align_metadata = whisperx.load_align_model(
                language_code=self._align_language,
                device=device,
                model_name=str(settings.whisperx_align_dir),
                model_cache_only=True,
            )
            self.align_model_name = f"wav2vec2:{settings.whisperx_align_dir.resolve().name}"

    def transcribe(self, path: str) -> Transcript:
        return self.transcribe_audio(load_audio(path), path)

    def transcribe_audio(self, audio, path: str) -> Transcript:  # noqa: ANN001 - numpy array from load_audio
        duration = len(audio) / SAMPLE_RATE
        try:
            result = self._model.transcribe(audio, batch_size=self._batch_size)
        except Exception as error:
            self._log.exception("transcription failed", extra={"path": path})
            raise ItemError(f"transcription failed: {_first_line(error)}", "transcribe_error") from None
        language = result.get("language") or "und"
        segments = result.get("segments") or []
        if self._align_model is not None and language == self._align_language and segments:
            try:
                aligned = self._whisperx.align(
                    segments, self._align_model, self._align_metadata, audio, self._device, return_char_alignments=False
                )
                # Alignment splits segments into sentences with word-level times; a sentence none
                # of whose words could be placed has no times, and then the VAD segments stay.
                aligned_segments = aligned.get("segments") or []
                if aligned_segments and all(_has_times(s) for s in aligned_segments):
                    segments = aligned_segments
            except Exception as error:  # unaligned times are still good times
                self._log.warning("alignment failed; keeping VAD segment times", extra={"reason": _first_line(error)})
        clean = [
            {"start": round(float(s["start"]), 3), "end": round(float(s["end"]), 3), "text": str(s.get("text", "")).strip()}
            for s in segments
            if _has_times(s)
        ]
        text = " ".join(s["text"] for s in clean if s["text"])
        return Transcript(text=text, language=language, segments=clean, duration_seconds=duration)


def _check_model(pipeline, settings: Settings) -> None:  # noqa: ANN001 - whisperx.asr.FasterWhisperPipeline
    """What would otherwise fail every item, found once at startup."""
    model = pipeline.model  # faster_whisper.WhisperModel
    multilingual = model.model.is_multilingual
    if settings.whisperx_language is None and not multilingual:
        raise ConfigError(
            f"WHISPERX_LANGUAGE=auto, but {settings.whisperx_dir} is an English-only model, which cannot "
            "detect languages: set WHISPERX_LANGUAGE=en"
        )
    if settings.whisperx_language not in (None, "en") and not multilingual:
        raise ConfigError(
            f"WHISPERX_LANGUAGE={settings.whisperx_language}, but {settings.whisperx_dir} is an English-only model"
        )
    if settings.whisperx_language is not None and settings.whisperx_language not in model.supported_languages:
        raise ConfigError(f"WHISPERX_LANGUAGE={settings.whisperx_language} is not a language Whisper knows")
    model_mels, extractor_mels = model.model.n_mels, model.feature_extractor.mel_filters.shape[0]
    if model_mels != extractor_mels:
        raise ConfigError(
            f"{settings.whisperx_dir}: the model takes {model_mels} mel bins but preprocessor_config.json gives "
            f"{extractor_mels} (feature_size): copy the model's own preprocessor_config.json"
        )


def _has_times(segment: dict) -> bool:
    start, end = segment.get("start"), segment.get("end")
    return start is not None and end is not None and start == start and end == end  # not NaN


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
