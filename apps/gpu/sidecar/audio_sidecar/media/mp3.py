"""Title tag and duration of an MP3 file in pure Python: ID3v2 (2.2-2.4) ``TIT2``, else ID3v1.

Duration comes from the Xing/Info or VBRI header that encoders (LAME, ffmpeg) put in the first
frame; without one, the MPEG frames are counted, which is exact for CBR and VBR alike.
"""

from __future__ import annotations

import mmap
import struct
from typing import BinaryIO

from .media_info import MediaInfo

_MAX_TAG_BYTES = 16 * 1024 * 1024

_BITRATES_KBPS = {
    (1, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


class NotMp3(Exception):
    """Neither an ID3 tag nor MPEG audio frames at the start: let another reader try."""


class FrameHeader:
    __slots__ = ("version_bits", "layer", "bitrate", "sample_rate", "padding", "mono")

    def __init__(self, version_bits: int, layer: int, bitrate: int, sample_rate: int, padding: int, mono: bool):
        self.version_bits = version_bits  # 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
        self.layer = layer
        self.bitrate = bitrate
        self.sample_rate = sample_rate
        self.padding = padding
        self.mono = mono

    @property
    def samples_per_frame(self) -> int:
        if self.layer == 1:
            return 384
        if self.layer == 3 and self.version_bits != 3:
            return 576
        return 1152

    @property
    def length(self) -> int:
        if self.layer == 1:
            return (12 * self.bitrate // self.sample_rate + self.padding) * 4
        return self.samples_per_frame // 8 * self.bitrate // self.sample_rate + self.padding

    @property
    def side_info_end(self) -> int:
        """Offset of a Xing/Info header from the frame start (after the header and side info)."""
        if self.version_bits == 3:
            return 4 + (17 if self.mono else 32)
        return 4 + (9 if self.mono else 17)


def parse_frame_header(data: bytes | mmap.mmap, offset: int) -> FrameHeader | None:
    if offset + 4 > len(data):
        return None
    b0, b1, b2, b3 = data[offset], data[offset + 1], data[offset + 2], data[offset + 3]
    if b0 != 0xFF or (b1 & 0xE0) != 0xE0:
        return None
    version_bits = (b1 >> 3) & 3
    layer = 4 - ((b1 >> 1) & 3)  # bits 01 = layer III
    bitrate_index = (b2 >> 4) & 0xF
    rate_index = (b2 >> 2) & 3
    if version_bits == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    table = _BITRATES_KBPS[(1 if version_bits == 3 else 2, layer)]
    return FrameHeader(
        version_bits=version_bits,
        layer=layer,
        bitrate=table[bitrate_index] * 1000,
        sample_rate=_SAMPLE_RATES[version_bits][rate_index],
        padding=(b2 >> 1) & 1,
        mono=((b3 >> 6) & 3) == 3,
    )


def read_mp3(f: BinaryIO, size: int) -> MediaInfo:
    f.seek(0)
    start = f.read(10)
    title = None
    audio_start = 0
    if start[:3] == b"ID3" and len(start) == 10:
        major, flags = start[3], start[5]
        tag_size = _syncsafe(start[6:10])
        audio_start = 10 + tag_size + (10 if flags & 0x10 else 0)
        title = _id3v2_title(major, flags, f.read(min(tag_size, _MAX_TAG_BYTES)))
    f.seek(audio_start)
    head = f.read(64 * 1024)
    first = _first_frame(head)
    # Without an ID3 tag, only a frame right at the start counts: a pair of plausible frame
    # headers somewhere in another format's data must not make it an MP3.
    if first is None or (audio_start == 0 and first[0] != 0):
        raise NotMp3("no MPEG audio frame " + ("after the ID3 tag" if audio_start else "at the start"))
    offset, header = first
    if title is None:
        title = _id3v1_title(f, size)
    duration = _duration_from_vbr_header(head, offset, header)
    if duration is None:
        duration = _duration_by_counting_frames(f, audio_start + offset)
    return MediaInfo(title=title, duration_seconds=duration, container="mp3")


def _syncsafe(data: bytes) -> int:
    value = 0
    for byte in data:
        value = (value << 7) | (byte & 0x7F)
    return value


def _first_frame(head: bytes) -> tuple[int, FrameHeader] | None:
    """The first frame header followed by another valid one (one alone may be a false sync)."""
    offset = head.find(b"\xff")
    while 0 <= offset < len(head) - 4:
        header = parse_frame_header(head, offset)
        if header is not None:
            following = offset + header.length
            if following + 4 > len(head) or parse_frame_header(head, following) is not None:
                return offset, header
        offset = head.find(b"\xff", offset + 1)
    return None


def _duration_from_vbr_header(head: bytes, offset: int, header: FrameHeader) -> float | None:
    xing = offset + header.side_info_end
    if head[xing : xing + 4] in (b"Xing", b"Info") and len(head) >= xing + 12:
        flags = struct.unpack_from(">I", head, xing + 4)[0]
        if flags & 1:
            frames = struct.unpack_from(">I", head, xing + 8)[0]
            return frames * header.samples_per_frame / header.sample_rate
    vbri = offset + 4 + 32
    if head[vbri : vbri + 4] == b"VBRI" and len(head) >= vbri + 18:
        frames = struct.unpack_from(">I", head, vbri + 14)[0]
        return frames * header.samples_per_frame / header.sample_rate
    return None


def _duration_by_counting_frames(f: BinaryIO, offset: int) -> float | None:
    samples = 0.0
    try:
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (ValueError, OSError):
        return None
    with data:
        while True:
            header = parse_frame_header(data, offset)
            if header is None:
                break
            samples += header.samples_per_frame / header.sample_rate
            offset += header.length
    return samples


def _id3v2_title(major: int, flags: int, body: bytes) -> str | None:
    if major not in (2, 3, 4):
        return None
    if flags & 0x80 and major < 4:  # whole-tag unsynchronisation (2.4 does it per frame)
        body = body.replace(b"\xff\x00", b"\xff")
    offset = 0
    if flags & 0x40 and major >= 3:  # extended header
        if major == 3:
            offset = 4 + struct.unpack_from(">I", body, 0)[0]
        else:
            offset = _syncsafe(body[0:4])
    header_size, wanted = (6, b"TT2") if major == 2 else (10, b"TIT2")
    while offset + header_size <= len(body):
        if major == 2:
            frame_id, frame_size, format_flags = body[offset : offset + 3], int.from_bytes(body[offset + 3 : offset + 6], "big"), 0
        else:
            frame_id = body[offset : offset + 4]
            size_bytes = body[offset + 4 : offset + 8]
            frame_size = _syncsafe(size_bytes) if major == 4 else int.from_bytes(size_bytes, "big")
            format_flags = body[offset + 9]
        if not frame_id.strip(b"\x00") or frame_size <= 0:
            return None  # padding: no more frames
        data = body[offset + header_size : offset + header_size + frame_size]
        offset += header_size + frame_size
        if frame_id != wanted:
            continue
        if major == 4:
            if format_flags & 0x0C:  # compressed or encrypted
                return None
            if format_flags & 0x01:  # data length indicator
                data = data[4:]
            if format_flags & 0x02:
                data = data.replace(b"\xff\x00", b"\xff")
        elif major == 3 and format_flags & 0xC0:
            return None
        return _decode_text_frame(data)
    return None


def _decode_text_frame(data: bytes) -> str | None:
    if not data:
        return None
    encoding = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}.get(data[0])
    if encoding is None:
        return None
    text = data[1:].decode(encoding, errors="replace")
    # ID3v2.4 separates multiple values with NUL; the first is the title.
    return text.split("\x00", 1)[0]


def _id3v1_title(f: BinaryIO, size: int) -> str | None:
    if size < 128:
        return None
    f.seek(size - 128)
    tag = f.read(128)
    if tag[:3] != b"TAG":
        return None
    title = tag[3:33].split(b"\x00", 1)[0].decode("latin-1").strip()
    return title or None
