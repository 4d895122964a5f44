"""Reading title tags and durations from audio files, fast enough to do for every item."""

from .media_info import MediaInfo
from .reader import read_media_info

__all__ = ["MediaInfo", "read_media_info"]
