"""One entry point: the title tag and duration of any audio file the pipeline may see.

Ogg Opus (what apps/unpack writes) and MP3 (what arrives) are read from their headers in pure
Python; anything else, or a file those readers reject, goes to ffprobe.
"""

from __future__ import annotations

import os

from ..errors import ItemError
from .ffprobe import read_with_ffprobe
from .media_info import MediaInfo
from .mp3 import NotMp3, read_mp3
from .ogg_opus import NotOpus, read_ogg_opus


def read_media_info(path: str) -> MediaInfo:
    """Raises ItemError ``not_found`` or ``decode_error``."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise ItemError(f"no such file: {path}", "not_found") from None
    except IsADirectoryError:
        raise ItemError(f"is a directory, not an audio file: {path}", "decode_error") from None
    except OSError as error:
        raise ItemError(f"cannot open {path}: {error.strerror}", "not_found") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            raise ItemError(f"empty file: {path}", "decode_error")
        magic = f.read(4)
        try:
            if magic == b"OggS":
                info = read_ogg_opus(f, size)
            elif magic[:3] == b"ID3" or magic[:1] == b"\xff":
                info = read_mp3(f, size)
            else:
                info = None
        except (NotOpus, NotMp3):
            info = None
    if info is None or info.duration_seconds is None:
        fallback = read_with_ffprobe(path)
        info = fallback if info is None else MediaInfo(info.title, fallback.duration_seconds, info.container)
    return info
