"""The ``fixture`` backend: the deterministic test double used by CI, the tests and the demo.

Its contract (from the pipeline issue): the transcript is the audio's ``title`` tag, language
``en``; the item is flagged when the text holds a word of the policy's ``fixture.flagWords``.
Every result names ``fixture`` as its model, so nothing it produces can pass for a real result.
``FIXTURE_SECONDS_PER_ITEM`` makes each request take that long per item, as inference would: the
GPU benchmark (`pnpm bench:gpu`) measures how busy the pipeline keeps the sidecar with it.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

from ..errors import ItemError
from ..media import read_media_info
from ..policy import Policy, flag_word_pattern
from ..protocol import Item, failed_item, ok_item

MODEL_NAME = "fixture"


class FixtureBackend:
    name = "fixture"
    device = "cpu"

    def __init__(self, seconds_per_item: float = 0.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self._seconds_per_item = seconds_per_item
        self._sleep = sleep

    def models(self) -> dict[str, str]:
        return {"transcribe": MODEL_NAME, "classify": MODEL_NAME}

    def model_versions(self) -> dict[str, str]:
        return {}  # loads no model

    def process(self, items: Sequence[Item], policy: Policy) -> list[dict]:
        if self._seconds_per_item > 0:
            self._sleep(self._seconds_per_item * len(items))  # simulated inference
        pattern = policy.derived.get(self.name)
        if pattern is None and policy.flag_words:
            pattern = policy.derived[self.name] = flag_word_pattern(policy.flag_words)
        return [self._one(item, policy, pattern) for item in items]

    def _one(self, item: Item, policy: Policy, pattern) -> dict:  # noqa: ANN001 - re.Pattern | None
        try:
            info = read_media_info(item.path)
        except ItemError as error:
            return failed_item(item.key, error.code, error.message)
        if pattern is None:
            return failed_item(
                item.key, "classify_error", f"policy {policy.id!r} has no fixture.flagWords for the fixture backend"
            )
        text = (info.title or "").strip()
        duration = round(info.duration_seconds or 0.0, 3)
        flagged = pattern.search(text) is not None
        transcript = {
            "text": text,
            "language": "en",
            "segments": [{"start": 0.0, "end": duration, "text": text}] if text else [],
            "model": MODEL_NAME,
        }
        classification = {**policy.echo(), "flagged": flagged, "score": 1.0 if flagged else 0.0, "model": MODEL_NAME}
        return ok_item(item.key, transcript, classification, duration)

    def close(self) -> None:
        pass
