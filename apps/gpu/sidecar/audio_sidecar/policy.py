"""Content policies, parsed once per sha256 and cached.

A policy file (e.g. apps/gpu/policies/demo-policy.json) looks like::

    {"id": "...", "version": "...", "title": "...",
     "sections": [{"name": "Overview", "text": "..."}, ...],
     "fixture": {"flagWords": ["kill", ...]}}

Node hashes the file bytes and sends ``{id, version, sha256, document}``; every classification
echoes ``policyId``, ``policyVersion`` and ``policySha256`` so a stored result names exactly the
policy it was judged against.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from .errors import ProtocolError
from .protocol import PolicyRef


@dataclass(frozen=True)
class PolicySection:
    name: str
    text: str


@dataclass(frozen=True)
class Policy:
    id: str
    version: str
    sha256: str
    title: str
    sections: tuple[PolicySection, ...]
    flag_words: tuple[str, ...] | None = None
    # Backends keep derived forms here (a compiled regex, a rendered prompt), keyed by backend.
    derived: dict = field(default_factory=dict, compare=False, repr=False)

    def echo(self) -> dict:
        """The fields every classification carries."""
        return {"policyId": self.id, "policyVersion": self.version, "policySha256": self.sha256}


def parse_policy(ref: PolicyRef) -> Policy:
    """Validates the document; raises ProtocolError(code ``bad_policy``) naming the bad field."""
    doc = ref.document

    def bad(message: str) -> ProtocolError:
        return ProtocolError(f"policy {ref.id!r}: {message}", "bad_policy")

    if doc.get("id", ref.id) != ref.id or doc.get("version", ref.version) != ref.version:
        raise bad("id/version in the request differ from the document's")
    title = doc.get("title", ref.id)
    if not isinstance(title, str):
        raise bad("title must be a string")
    raw_sections = doc.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise bad("sections must be a non-empty list of {name, text}")
    sections = []
    for index, section in enumerate(raw_sections):
        if not isinstance(section, dict):
            raise bad(f"sections[{index}] must be an object")
        name, text = section.get("name"), section.get("text")
        if not isinstance(name, str) or not name.strip() or not isinstance(text, str) or not text.strip():
            raise bad(f"sections[{index}] needs a non-empty name and text")
        sections.append(PolicySection(name=name.strip(), text=text.strip()))
    flag_words = None
    fixture = doc.get("fixture")
    if fixture is not None:
        words = fixture.get("flagWords") if isinstance(fixture, dict) else None
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise bad("fixture.flagWords must be a list of non-empty strings")
        flag_words = tuple(w.strip() for w in words)
    return Policy(
        id=ref.id,
        version=ref.version,
        sha256=ref.sha256,
        title=title,
        sections=tuple(sections),
        flag_words=flag_words,
    )


class PolicyCache:
    """Parsed policies by sha256; a handful at most are in use, so a small LRU is plenty."""

    def __init__(self, capacity: int = 16) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, Policy] = OrderedDict()

    def get(self, ref: PolicyRef) -> Policy:
        policy = self._entries.get(ref.sha256)
        if policy is not None and policy.id == ref.id and policy.version == ref.version:
            self._entries.move_to_end(ref.sha256)
            return policy
        policy = parse_policy(ref)
        self._entries[ref.sha256] = policy
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return policy


def flag_word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """Whole words or phrases, case-insensitive: "kill" matches "Kill!" but not "skill"."""
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
