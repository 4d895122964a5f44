"""The protocol channel: the only writer of the real stdout.

Model libraries print progress bars and warnings, some from C code straight to file descriptor 1.
Any such line on the protocol stream would be a garbage line to Node (and cost a restart). So the
channel keeps a private duplicate of fd 1 for protocol lines, then points fd 1 and ``sys.stdout``
at stderr: everything else anyone prints ends up in the logs.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import BinaryIO

from .protocol import encode


class ProtocolChannel:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._lock = threading.Lock()

    @classmethod
    def take_over_stdout(cls) -> "ProtocolChannel":
        """Call first thing in main, before importing anything that might print."""
        sys.stdout.flush()
        protocol_fd = os.dup(1)
        os.dup2(2, 1)  # C-level writes to fd 1 now go to stderr
        sys.stdout = sys.stderr  # and so do Python-level print() calls
        # Buffered: a BufferedWriter retries short writes to the pipe; send() flushes every line.
        return cls(os.fdopen(protocol_fd, "wb"))

    def send(self, message: dict) -> None:
        data = encode(message)
        with self._lock:
            self._out.write(data)
            self._out.flush()

    def close(self) -> None:
        self._out.close()
