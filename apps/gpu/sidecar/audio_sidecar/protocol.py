"""The wire format: parsing requests from Node and building the replies (standard library only).

Requests, one JSON object per line::

    {"id": "r1", "op": "process", "items": [{"key": "...", "path": "..."}],
     "policy": {"id": "...", "version": "...", "sha256": "<64 hex>", "document": {...}}}
    {"id": "r4", "op": "classify", "items": [{"key": "...", "text": "..."}], "policy": {...}}
    {"id": "r2", "op": "ping"}
    {"id": "r3", "op": "shutdown"}

Replies: ``ready`` (once, unsolicited), ``result`` (to ``process``), ``classified`` (to ``classify``: stored
transcripts judged under another policy version, no audio), ``pong``, ``shutdown`` and ``error``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from .errors import ProtocolError

OPS = ("process", "classify", "ping", "shutdown")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Item:
    key: str
    path: str


@dataclass(frozen=True)
class TextItem:
    """A stored transcript to classify: no audio."""

    key: str
    text: str


@dataclass(frozen=True)
class PolicyRef:
    """The policy as Node sends it: its id, version, sha256 of the file bytes, and the document."""

    id: str
    version: str
    sha256: str
    document: dict


@dataclass(frozen=True)
class Request:
    id: str | int
    op: str
    items: tuple[Item, ...] = ()
    policy: PolicyRef | None = None
    texts: tuple[TextItem, ...] = ()


def parse_request(line: bytes | str) -> Request:
    """Parses one request line; raises ProtocolError naming what is wrong (and the id, if known)."""
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError) as error:
        raise ProtocolError(f"request is not valid JSON: {error}", "bad_json") from None
    if not isinstance(message, dict):
        raise ProtocolError("request must be a JSON object", "bad_request")
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, (str, int)) or request_id == "":
        raise ProtocolError('request needs an "id" (a non-empty string or an integer)', "bad_request")
    op = message.get("op")
    if op not in OPS:
        raise ProtocolError(f'unknown op {op!r}; expected one of {", ".join(OPS)}', "unknown_op", request_id)
    if op == "classify":
        return Request(
            id=request_id,
            op=op,
            texts=_parse_texts(message.get("items"), request_id),
            policy=_parse_policy_ref(message.get("policy"), request_id),
        )
    if op != "process":
        return Request(id=request_id, op=op)
    return Request(
        id=request_id,
        op=op,
        items=_parse_items(message.get("items"), request_id),
        policy=_parse_policy_ref(message.get("policy"), request_id),
    )


def _parse_items(raw: Any, request_id: str | int) -> tuple[Item, ...]:
    if not isinstance(raw, list):
        raise ProtocolError('"items" must be a list of {"key", "path"}', "bad_request", request_id)
    items: list[Item] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise ProtocolError(f"items[{index}] must be an object", "bad_request", request_id)
        key, path = entry.get("key"), entry.get("path")
        if not isinstance(key, str) or not key:
            raise ProtocolError(f'items[{index}].key must be a non-empty string', "bad_request", request_id)
        if not isinstance(path, str) or not path:
            raise ProtocolError(f'items[{index}].path must be a non-empty string', "bad_request", request_id)
        if key in seen:
            raise ProtocolError(f"items[{index}].key {key!r} appears twice", "bad_request", request_id)
        seen.add(key)
        items.append(Item(key=key, path=path))
    return tuple(items)


def _parse_texts(raw: Any, request_id: str | int) -> tuple[TextItem, ...]:
    if not isinstance(raw, list):
        raise ProtocolError('"items" must be a list of {"key", "text"}', "bad_request", request_id)
    texts: list[TextItem] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise ProtocolError(f"items[{index}] must be an object", "bad_request", request_id)
        key, text = entry.get("key"), entry.get("text")
        if not isinstance(key, str) or not key:
            raise ProtocolError(f"items[{index}].key must be a non-empty string", "bad_request", request_id)
        if not isinstance(text, str):
            raise ProtocolError(f"items[{index}].text must be a string", "bad_request", request_id)
        if key in seen:
            raise ProtocolError(f"items[{index}].key {key!r} appears twice", "bad_request", request_id)
        seen.add(key)
        texts.append(TextItem(key=key, text=text))
    return tuple(texts)


def _parse_policy_ref(raw: Any, request_id: str | int) -> PolicyRef:
    if not isinstance(raw, dict):
        raise ProtocolError(
            '"policy" must be an object {"id", "version", "sha256", "document"}', "bad_policy", request_id
        )
    policy_id, version, sha256, document = (raw.get(k) for k in ("id", "version", "sha256", "document"))
    if not isinstance(policy_id, str) or not policy_id:
        raise ProtocolError("policy.id must be a non-empty string", "bad_policy", request_id)
    if not isinstance(version, str) or not version:
        raise ProtocolError("policy.version must be a non-empty string", "bad_policy", request_id)
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise ProtocolError("policy.sha256 must be 64 lowercase hex digits", "bad_policy", request_id)
    if not isinstance(document, dict):
        raise ProtocolError("policy.document must be an object", "bad_policy", request_id)
    return PolicyRef(id=policy_id, version=version, sha256=sha256, document=document)


# Replies ---------------------------------------------------------------------------------------


def ready_message(backend: str, models: dict[str, str], device: str, **extra: Any) -> dict:
    return {"type": "ready", "backend": backend, "models": models, "device": device, **extra}


def result_message(request_id: str | int, items: list[dict]) -> dict:
    return {"id": request_id, "type": "result", "items": items}


def classified_message(request_id: str | int, items: list[dict]) -> dict:
    return {"id": request_id, "type": "classified", "items": items}


def classified_item(key: str, classification: dict) -> dict:
    return {"key": key, "ok": True, "classification": classification}


def pong_message(request_id: str | int) -> dict:
    return {"id": request_id, "type": "pong"}


def shutdown_message(request_id: str | int) -> dict:
    return {"id": request_id, "type": "shutdown"}


def error_message(request_id: object, code: str, message: str) -> dict:
    reply: dict = {"type": "error", "error": {"code": code, "message": message}}
    if request_id is not None:
        reply["id"] = request_id
    return reply


def failed_item(key: str, code: str, message: str) -> dict:
    return {"key": key, "ok": False, "error": {"code": code, "message": message}}


def ok_item(key: str, transcript: dict, classification: dict, duration_seconds: float) -> dict:
    return {
        "key": key,
        "ok": True,
        "transcript": transcript,
        "classification": classification,
        "durationSeconds": finite(duration_seconds),
    }


def finite(value: float, default: float = 0.0) -> float:
    """JSON has no NaN or Infinity; a model that produces one must not break the reply."""
    value = float(value)
    return value if math.isfinite(value) else default


def encode(message: dict) -> bytes:
    """One protocol line. ``allow_nan=False`` so a stray NaN fails here, not in Node's parser."""
    return (json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode(
        "utf-8"
    )
