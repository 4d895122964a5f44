"""Title tag and duration of an Ogg Opus file, read from its headers (RFC 7845) in pure Python.

The fixture backend needs both for every item; one ffprobe per item would cap it at a few dozen
items per second, this costs two small reads. Layout: the first packet is ``OpusHead`` (pre-skip
at byte 10), the second ``OpusTags`` (vendor string, then ``KEY=value`` comments); the granule
position of the stream's last page is its length in 48 kHz samples, pre-skip included.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

from .media_info import MediaInfo

_PAGE_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, serial, seq, crc, segments
_MAX_PAGE = 27 + 255 + 255 * 255
# Comment headers with cover art can be large; past this the title is not worth reading.
_MAX_TAGS_BYTES = 16 * 1024 * 1024


class NotOpus(Exception):
    """The file is Ogg but not Opus (or not Ogg at all): let another reader try."""


def read_ogg_opus(f: BinaryIO, size: int) -> MediaInfo:
    head, tags, serial = _first_two_packets(f)
    if not head.startswith(b"OpusHead") or len(head) < 19:
        raise NotOpus("first Ogg packet is not OpusHead")
    pre_skip = struct.unpack_from("<H", head, 10)[0]
    title = _title_from_opus_tags(tags) if tags.startswith(b"OpusTags") else None
    granule = _last_granule(f, size, serial)
    duration = max(0.0, (granule - pre_skip) / 48000.0) if granule is not None else None
    return MediaInfo(title=title, duration_seconds=duration, container="ogg/opus")


def _first_two_packets(f: BinaryIO) -> tuple[bytes, bytes, int]:
    """Reassembles the first two packets of the first logical stream (they may span pages)."""
    f.seek(0)
    packets: list[bytes] = []
    current = bytearray()
    serial = None
    total = 0
    while len(packets) < 2:
        header = f.read(_PAGE_HEADER.size)
        if len(header) < _PAGE_HEADER.size:
            break
        capture, _version, _flags, _granule, page_serial, _seq, _crc, nsegs = _PAGE_HEADER.unpack(header)
        if capture != b"OggS":
            raise NotOpus("not an Ogg page")
        lacing = f.read(nsegs)
        body = f.read(sum(lacing))
        total += len(body)
        if total > _MAX_TAGS_BYTES:
            break
        if serial is None:
            serial = page_serial
        elif page_serial != serial:
            continue  # another multiplexed stream
        offset = 0
        for value in lacing:
            current += body[offset : offset + value]
            offset += value
            if value < 255:  # a lacing value below 255 ends the packet
                packets.append(bytes(current))
                current.clear()
                if len(packets) == 2:
                    break
    if serial is None or not packets:
        raise NotOpus("no Ogg packets")
    return packets[0], packets[1] if len(packets) > 1 else b"", serial


def _title_from_opus_tags(packet: bytes) -> str | None:
    try:
        offset = 8
        (vendor_length,) = struct.unpack_from("<I", packet, offset)
        offset += 4 + vendor_length
        (count,) = struct.unpack_from("<I", packet, offset)
        offset += 4
        for _ in range(count):
            (length,) = struct.unpack_from("<I", packet, offset)
            offset += 4
            comment = packet[offset : offset + length]
            offset += length
            key, sep, value = comment.partition(b"=")
            if sep and key.upper() == b"TITLE":
                return value.decode("utf-8", errors="replace")
    except struct.error:
        return None  # truncated comment header (e.g. past _MAX_TAGS_BYTES): no title
    return None


def _last_granule(f: BinaryIO, size: int, serial: int) -> int | None:
    """Granule position of the stream's last complete page, searching back from the end.

    Pages are usually a few KiB, so a small tail almost always holds the last one; only when it
    does not is a tail long enough for the largest possible page read.
    """
    for tail_size in (8192, 2 * _MAX_PAGE):
        start = max(0, size - tail_size)
        f.seek(start, os.SEEK_SET)
        granule = _last_granule_in(f.read(), serial)
        if granule is not None or start == 0:
            return granule
    return None


def _last_granule_in(tail: bytes, serial: int) -> int | None:
    position = len(tail)
    while True:
        position = tail.rfind(b"OggS", 0, position)
        if position < 0:
            return None
        if position + _PAGE_HEADER.size <= len(tail):
            _c, version, _fl, granule, page_serial, _s, _crc, nsegs = _PAGE_HEADER.unpack_from(tail, position)
            lacing_end = position + _PAGE_HEADER.size + nsegs
            complete = lacing_end <= len(tail) and lacing_end + sum(tail[position + 27 : lacing_end]) <= len(tail)
            if version == 0 and page_serial == serial and granule >= 0 and complete:
                return granule
