"""ffprobe for containers the header readers do not know (WAV, FLAC, M4A, Ogg Vorbis...)."""

from __future__ import annotations

import json
import subprocess

from ..errors import ItemError
from .media_info import MediaInfo

FFPROBE_TIMEOUT_SECONDS = 60


def read_with_ffprobe(path: str, ffprobe: str = "ffprobe") -> MediaInfo:
    command = [ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path]
    try:
        completed = subprocess.run(
            command, capture_output=True, timeout=FFPROBE_TIMEOUT_SECONDS, check=False, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        raise ItemError("ffprobe is not installed (apt-get install ffmpeg)", "decode_error") from None
    except subprocess.TimeoutExpired:
        raise ItemError(f"ffprobe took longer than {FFPROBE_TIMEOUT_SECONDS} s", "decode_error") from None
    if completed.returncode != 0:
        reason = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ItemError(f"not a readable audio file: {reason[-1] if reason else 'ffprobe failed'}", "decode_error")
    probe = json.loads(completed.stdout or b"{}")
    streams = [s for s in probe.get("streams", []) if s.get("codec_type") == "audio"]
    if not streams:
        raise ItemError("no audio stream in the file", "decode_error")
    fmt = probe.get("format", {})
    title = _tag(fmt.get("tags")) or _tag(streams[0].get("tags"))
    duration = fmt.get("duration") or streams[0].get("duration")
    return MediaInfo(
        title=title,
        duration_seconds=float(duration) if duration not in (None, "N/A") else None,
        container=str(fmt.get("format_name", "unknown")),
    )


def _tag(tags: dict | None) -> str | None:
    for key, value in (tags or {}).items():
        if key.lower() == "title":
            return str(value)
    return None
