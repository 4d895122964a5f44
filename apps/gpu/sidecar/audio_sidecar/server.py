"""The request loop: one request line in, one reply line out, in order, until stdin closes.

Nothing a request contains can end the loop except ``shutdown``: a malformed line gets an error
reply, a failing item a failed result, a failing backend call an error reply for that request.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Iterable

from . import PROTOCOL_VERSION
from .backends import Backend
from .channel import ProtocolChannel
from .errors import ProtocolError
from .policy import PolicyCache
from .protocol import (
    Request,
    error_message,
    failed_item,
    parse_request,
    pong_message,
    ready_message,
    result_message,
    shutdown_message,
)


class SidecarServer:
    def __init__(self, backend: Backend, channel: ProtocolChannel, log: logging.Logger) -> None:
        self._backend = backend
        self._channel = channel
        self._log = log
        self._policies = PolicyCache()

    def serve(self, lines: Iterable[bytes]) -> int:
        """Sends ``ready``, then serves until ``shutdown`` or end of input. Returns the exit code."""
        self._channel.send(
            ready_message(
                self._backend.name,
                self._backend.models(),
                self._backend.device,
                pid=os.getpid(),
                protocol=PROTOCOL_VERSION,
                modelVersions=self._backend.model_versions(),
            )
        )
        self._log.info("sidecar ready", extra={"backend": self._backend.name, "device": self._backend.device})
        try:
            for line in lines:
                if line.strip() and not self.handle(line):
                    break
        finally:
            self._backend.close()
        self._log.info("sidecar stopped")
        return 0

    def handle(self, line: bytes) -> bool:
        """Serves one request line; False once the sidecar should stop."""
        try:
            request = parse_request(line)
        except ProtocolError as error:
            self._log.warning("rejected request", extra={"code": error.code, "reason": error.message})
            self._channel.send(error_message(error.request_id, error.code, error.message))
            return True
        if request.op == "ping":
            self._channel.send(pong_message(request.id))
        elif request.op == "shutdown":
            self._channel.send(shutdown_message(request.id))
            return False
        else:
            self._channel.send(self._process(request))
        return True

    def _process(self, request: Request) -> dict:
        started = time.perf_counter()
        try:
            assert request.policy is not None  # parse_request guarantees it for "process"
            policy = self._policies.get(request.policy)
            results = self._backend.process(request.items, policy)
        except ProtocolError as error:
            return error_message(request.id, error.code, error.message)
        except Exception as error:  # the backend failed as a whole; the sidecar stays up
            self._log.exception("process request failed", extra={"request": request.id})
            return error_message(request.id, "internal_error", f"{type(error).__name__}: {error}")
        self._log.debug(
            "processed",
            extra={"request": request.id, "items": len(request.items), "ms": round(1000 * (time.perf_counter() - started))},
        )
        return result_message(request.id, _complete(request, results))


def _complete(request: Request, results: list[dict]) -> list[dict]:
    """Exactly one result per requested key, in request order, whatever the backend returned."""
    by_key = {result.get("key"): result for result in results if isinstance(result, dict)}
    return [
        by_key.get(item.key) or failed_item(item.key, "internal_error", "the backend returned no result for this item")
        for item in request.items
    ]
