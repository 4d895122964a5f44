"""Title tags and durations read from headers, checked against files made by ffmpeg and lame."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio_sidecar.errors import ItemError
from audio_sidecar.media import read_media_info
from conftest import ffprobe_duration


def test_opus_title_and_duration(audio) -> None:
    path = audio.opus("threat.opus", "We will attack at dawn", spoken="we will attack at dawn")
    info = read_media_info(str(path))
    assert info.container == "ogg/opus"
    assert info.title == "We will attack at dawn"
    # ffprobe counts the encoder's pre-skip in; the header arithmetic leaves it out (≤ 6.5 ms).
    assert info.duration_seconds == pytest.approx(ffprobe_duration(path), abs=0.01)
    assert info.duration_seconds > 0.5


def test_opus_non_ascii_title_and_no_title(audio) -> None:
    assert read_media_info(str(audio.opus("uni.opus", "Grüße, 世界 — ok"))).title == "Grüße, 世界 — ok"
    untitled = read_media_info(str(audio.opus("untitled.opus", None)))
    assert untitled.title is None
    assert untitled.duration_seconds > 0


def test_mp3_from_ffmpeg_id3v24(audio) -> None:
    path = audio.mp3("ffmpeg.mp3", "Héllo wörld")
    info = read_media_info(str(path))
    assert info.container == "mp3"
    assert info.title == "Héllo wörld"
    assert info.duration_seconds == pytest.approx(ffprobe_duration(path), abs=0.05)


@pytest.mark.parametrize(
    ("flags", "expected_title"),
    [
        ((), "lame default tags"),  # ID3v1 + ID3v2.3 (UTF-16 when needed), Xing/Info header
        (("--id3v2-only", "-t"), "lame v2 only, no xing"),  # no Xing header: frames are counted
        (("--id3v1-only",), "lame v1 only"),  # only the 128-byte ID3v1 tag at the end
    ],
)
def test_mp3_from_lame(audio, flags, expected_title) -> None:
    name = expected_title.replace(" ", "-").replace(",", "") + ".mp3"
    path = audio.lame_mp3(name, expected_title, *flags, "--cbr", "-b", "64")
    info = read_media_info(str(path))
    assert info.container == "mp3"
    assert info.title == expected_title
    wav = audio.speech_wav("hello there")
    # Same audio, so within an MP3 frame or two of the source WAV.
    assert info.duration_seconds == pytest.approx(ffprobe_duration(wav), abs=0.1)


def test_other_containers_go_to_ffprobe(audio) -> None:
    path = audio.make("speech.flac", "hello there", "flac title", "-c:a", "flac")
    info = read_media_info(str(path))
    assert info.title == "flac title"
    assert info.duration_seconds == pytest.approx(ffprobe_duration(path), abs=0.01)


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ItemError) as caught:
        read_media_info(str(tmp_path / "nope.opus"))
    assert caught.value.code == "not_found"
    assert "nope.opus" in caught.value.message


@pytest.mark.parametrize("content", [b"not audio at all\n" * 10, b"OggS" + b"\x00" * 60, b"", b"ID3\x04\x00\x00\x00\x00\x00\x05hello"])
def test_garbage_is_a_decode_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.opus"
    path.write_bytes(content)
    with pytest.raises(ItemError) as caught:
        read_media_info(str(path))
    assert caught.value.code == "decode_error"
