"""Backends: ``fixture`` (the test double) and ``whisperx-cope`` (the real models, imported lazily)."""

from __future__ import annotations

import logging
import os

from ..config import Settings
from .base import Backend


def load_backend(settings: Settings, log: logging.Logger) -> Backend:
    if settings.backend == "fixture":
        from .fixture import FixtureBackend

        return FixtureBackend(seconds_per_item=settings.fixture_seconds_per_item)
    # Check the files before importing torch: a typo should fail in a second, not a minute.
    settings.check_model_files()
    settings.prepare_real_backends(os.environ)
    from .whisperx_cope import WhisperxCopeBackend

    return WhisperxCopeBackend(settings, log)


__all__ = ["Backend", "load_backend"]
