"""Audio → 16 kHz mono float32 samples through ffmpeg, with errors that say why.

The same decoding as ``whisperx.load_audio`` (ffmpeg to s16le at 16 kHz, scaled to [-1, 1)), but
ffmpeg runs with ``-hide_banner -loglevel error``: whisperX's version puts ffmpeg's whole stderr in
its exception, whose first line is the version banner, so every decode_error read
"ffmpeg version 5.1.6 Copyright (c) ..." instead of the reason.
"""

from __future__ import annotations

import re
import subprocess

import numpy as np

from ..errors import ItemError

SAMPLE_RATE = 16000
DECODE_TIMEOUT_SECONDS = 600  # hours of audio decode in seconds; only a wedged ffmpeg takes this long


def load_audio(path: str, ffmpeg: str = "ffmpeg") -> np.ndarray:
    """Raises ItemError ``decode_error`` naming ffmpeg's reason."""
    command = [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "0", "-i", path,
        "-f", "s16le", "-ac", "1", "-acodec", "pcm_s16le", "-ar", str(SAMPLE_RATE), "-",
    ]  # fmt: skip
    try:
        completed = subprocess.run(
            command, capture_output=True, stdin=subprocess.DEVNULL, timeout=DECODE_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise ItemError(f"ffmpeg did not finish decoding within {DECODE_TIMEOUT_SECONDS} s", "decode_error") from None
    if completed.returncode != 0:
        raise ItemError(f"ffmpeg cannot decode it: {ffmpeg_reason(completed.stderr)}", "decode_error")
    if len(completed.stdout) < 2:
        raise ItemError("no audio samples in the file", "decode_error")
    return np.frombuffer(completed.stdout, np.int16).flatten().astype(np.float32) / 32768.0


def ffmpeg_reason(stderr: bytes, limit: int = 400) -> str:
    """The last lines of ffmpeg's errors, without the per-run pointers (``[mp3 @ 0x55d0...]``)."""
    lines = [re.sub(r" @ 0x[0-9a-f]+\]", "]", line.strip()) for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "no reason given"
    reason = "; ".join(dict.fromkeys(lines[-2:]))  # the context line, then the verdict
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"
