"""What the server needs from a backend."""

from __future__ import annotations

from typing import Protocol, Sequence

from ..policy import Policy
from ..protocol import Item


class Backend(Protocol):
    name: str
    device: str

    def models(self) -> dict[str, str]:
        """Model names for the ready message, e.g. ``{"transcribe": ..., "classify": ...}``."""
        ...

    def model_versions(self) -> dict[str, str]:
        """Model directory name → version it loaded (``model_versions.read_model_versions``)."""
        ...

    def process(self, items: Sequence[Item], policy: Policy) -> list[dict]:
        """One result dict per item, in order (``protocol.ok_item`` / ``protocol.failed_item``).

        Per-item problems become failed items; raising fails the whole request.
        """
        ...

    def close(self) -> None: ...
