"""Test double for apps/gpu/test/sidecar: the real sidecar (fixture backend) plus faults on request.

Never used outside the tests. Item keys starting with these prefixes trigger a fault:

    __garbage__   write a non-JSON line on the protocol stream, once per key
    __crash__     SIGKILL itself, once per key
    __crash_always__  SIGKILL itself, every time
    __hang__      sleep forever, once per key
    __print__     print to stdout from Python and from fd 1 (must end up on stderr, not as garbage)

"Once per key" is remembered as a marker file named after the key in $FAULT_STATE_DIR, so the
retry after a restart goes through; a test can wait for the marker to know the fault fired.
Environment: FAULT_EXIT_ON_START=1 dies at once (a crash loop); FAULT_IGNORE_SIGTERM=1 ignores
SIGTERM (so only SIGKILL stops it).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

if os.environ.get("FAULT_EXIT_ON_START") == "1":
    sys.stderr.write("simulated startup crash: cannot load models\n")
    sys.exit(3)
if os.environ.get("FAULT_IGNORE_SIGTERM") == "1":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

import audio_sidecar.backends as backends  # noqa: E402
from audio_sidecar import __main__ as sidecar_main  # noqa: E402
from audio_sidecar.backends.fixture import FixtureBackend  # noqa: E402
from audio_sidecar.channel import ProtocolChannel  # noqa: E402

STATE_DIR = Path(os.environ["FAULT_STATE_DIR"])
channels: list[ProtocolChannel] = []


def fire_once(key: str) -> bool:
    try:
        os.close(os.open(STATE_DIR / key, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


class FaultyFixtureBackend(FixtureBackend):
    def process(self, items, policy):
        for item in items:
            key = item.key
            if key.startswith("__garbage__") and fire_once(key):
                channels[0]._out.write(b"this is not a protocol line\n")
                channels[0]._out.flush()
            elif key.startswith("__crash_always__") or (key.startswith("__crash__") and fire_once(key)):
                os.kill(os.getpid(), signal.SIGKILL)
            elif key.startswith("__hang__") and fire_once(key):
                time.sleep(3600)
            elif key.startswith("__print__"):
                print("a library printing to stdout")
                os.write(1, b"a C library writing to fd 1\n")
        return super().process(items, policy)


_take_over = ProtocolChannel.take_over_stdout.__func__


def _capture_channel(cls):
    channel = _take_over(cls)
    channels.append(channel)
    return channel


ProtocolChannel.take_over_stdout = classmethod(_capture_channel)
backends.load_backend = lambda settings, log: FaultyFixtureBackend()
sys.exit(sidecar_main.main())
