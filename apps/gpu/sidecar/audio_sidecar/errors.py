"""Errors with a machine-readable code; the code travels to Node in replies."""

from __future__ import annotations


class SidecarError(Exception):
    """An error whose ``code`` names the kind of failure (``not_found``, ``decode_error``...)."""

    code = "internal_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class ItemError(SidecarError):
    """One item of a batch failed; the others go on. Becomes ``{"ok": false, "error": ...}``."""


class ProtocolError(SidecarError):
    """A request that cannot be served as written. Becomes a ``{"type": "error"}`` reply."""

    code = "bad_request"

    def __init__(self, message: str, code: str | None = None, request_id: object = None) -> None:
        super().__init__(message, code)
        self.request_id = request_id


class ConfigError(SidecarError):
    """Startup configuration is wrong (a missing model dir, an unknown backend). Exit code 78."""

    code = "config_error"
