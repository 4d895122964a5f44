"""Request parsing and the request loop, with in-memory streams and the fixture backend."""

from __future__ import annotations

import io
import json
import logging

import pytest

from audio_sidecar.backends.fixture import FixtureBackend
from audio_sidecar.channel import ProtocolChannel
from audio_sidecar.errors import ProtocolError
from audio_sidecar.protocol import encode, parse_request
from audio_sidecar.server import SidecarServer


def serve(requests: list, backend=None) -> list[dict]:
    """Runs the loop over request lines; returns every reply it wrote."""
    out = io.BytesIO()
    lines = [r if isinstance(r, bytes) else json.dumps(r).encode() for r in requests]
    SidecarServer(backend or FixtureBackend(), ProtocolChannel(out), logging.getLogger("test")).serve(lines)
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("line", "code", "request_id"),
    [
        (b"{not json", "bad_json", None),
        (b"[1, 2]", "bad_request", None),
        (b'{"op": "ping"}', "bad_request", None),
        (b'{"id": true, "op": "ping"}', "bad_request", None),
        (b'{"id": "a", "op": "dance"}', "unknown_op", "a"),
        (b'{"id": "a", "op": "process", "items": {}, "policy": {}}', "bad_request", "a"),
        (b'{"id": 7, "op": "process", "items": [{"key": "k"}], "policy": {}}', "bad_request", 7),
    ],
)
def test_malformed_requests_are_named(line: bytes, code: str, request_id) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_request(line)
    assert caught.value.code == code
    assert caught.value.request_id == request_id


def test_duplicate_keys_and_bad_policy_hash_are_rejected(demo_policy_wire) -> None:
    item = {"key": "k", "path": "/x"}
    with pytest.raises(ProtocolError, match="appears twice"):
        parse_request(json.dumps({"id": "a", "op": "process", "items": [item, item], "policy": demo_policy_wire}))
    with pytest.raises(ProtocolError, match="sha256") as caught:
        parse_request(json.dumps({"id": "a", "op": "process", "items": [item], "policy": {**demo_policy_wire, "sha256": "abc"}}))
    assert caught.value.code == "bad_policy"


def test_ready_first_then_replies_in_order_and_errors_do_not_stop_the_loop(audio, demo_policy_wire) -> None:
    path = str(audio.opus("loop.opus", "we attack now"))
    replies = serve(
        [
            {"id": "p1", "op": "ping"},
            b"garbage that is not json",
            {"id": "x", "op": "process", "items": [{"key": "a", "path": path}], "policy": {"id": "only-id"}},
            {"id": "r1", "op": "process", "items": [{"key": "a", "path": path}], "policy": demo_policy_wire},
            {"id": "s", "op": "shutdown"},
            {"id": "after", "op": "ping"},  # never read: the loop ended at shutdown
        ]
    )
    assert [r["type"] for r in replies] == ["ready", "pong", "error", "error", "result", "shutdown"]
    assert replies[0]["backend"] == "fixture" and replies[0]["models"]["classify"] == "fixture"
    assert replies[2]["error"]["code"] == "bad_json" and "id" not in replies[2]
    assert replies[3]["id"] == "x" and replies[3]["error"]["code"] == "bad_policy"
    assert replies[4]["id"] == "r1" and replies[4]["items"][0]["classification"]["flagged"] is True


def test_a_backend_failure_fails_the_request_not_the_sidecar(demo_policy_wire) -> None:
    class Exploding(FixtureBackend):
        def process(self, items, policy):
            raise RuntimeError("boom")

    replies = serve(
        [
            {"id": "r", "op": "process", "items": [{"key": "a", "path": "/x"}], "policy": demo_policy_wire},
            {"id": "p", "op": "ping"},
        ],
        Exploding(),
    )
    assert replies[1] == {"id": "r", "type": "error", "error": {"code": "internal_error", "message": "RuntimeError: boom"}}
    assert replies[2] == {"id": "p", "type": "pong"}


def test_a_missing_item_result_is_filled_in(demo_policy_wire) -> None:
    class Forgetful(FixtureBackend):
        def process(self, items, policy):
            return []

    replies = serve(
        [{"id": "r", "op": "process", "items": [{"key": "a", "path": "/x"}], "policy": demo_policy_wire}], Forgetful()
    )
    assert replies[1]["items"] == [
        {"key": "a", "ok": False, "error": {"code": "internal_error", "message": "the backend returned no result for this item"}}
    ]


def test_encode_refuses_nan() -> None:
    with pytest.raises(ValueError):
        encode({"score": float("nan")})


def test_classify_judges_stored_text_without_audio(demo_policy_wire) -> None:
    texts = [{"key": "a", "text": "I will attack the station"}, {"key": "b", "text": "a calm day"}]
    replies = serve([{"id": "c", "op": "classify", "items": texts, "policy": demo_policy_wire}])
    assert replies[1]["type"] == "classified" and replies[1]["id"] == "c"
    items = replies[1]["items"]
    assert [i["key"] for i in items] == ["a", "b"]
    assert [i["classification"]["flagged"] for i in items] == [True, False]
    assert items[0]["classification"]["policySha256"] == demo_policy_wire["sha256"]
    assert "transcript" not in items[0]


def test_classify_requests_are_validated_and_a_backend_without_it_says_so(demo_policy_wire) -> None:
    with pytest.raises(ProtocolError, match="text must be a string"):
        parse_request(json.dumps({"id": "c", "op": "classify", "items": [{"key": "k", "path": "/x"}], "policy": demo_policy_wire}))

    class TranscribeOnly:
        name, device = "transcribe-only", "cpu"

        def models(self) -> dict:
            return {}

        def model_versions(self) -> dict:
            return {}

        def close(self) -> None:
            pass

    replies = serve(
        [{"id": "c", "op": "classify", "items": [{"key": "k", "text": "x"}], "policy": demo_policy_wire}], TranscribeOnly()
    )
    assert replies[1]["error"]["code"] == "unsupported_op"
