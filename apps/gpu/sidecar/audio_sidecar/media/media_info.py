"""What the fixture backend needs to know about an audio file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MediaInfo:
    title: str | None
    duration_seconds: float | None
    container: str
