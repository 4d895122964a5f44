"""``python3 -m audio_sidecar``: take over stdout, load the backend, serve stdin until it closes.

Exit codes: 0 after ``shutdown`` or end of input, 78 for a configuration error (Node does not
restart those: the same settings would fail again), 1 when the backend fails to load.
"""

from __future__ import annotations

import os
import sys

EXIT_CONFIG = 78  # EX_CONFIG from sysexits.h


def main() -> int:
    # First, before any import that could print: protocol lines only on the real stdout.
    from .channel import ProtocolChannel

    channel = ProtocolChannel.take_over_stdout()

    from .backends import load_backend
    from .config import Settings, force_offline
    from .errors import ConfigError
    from .logs import configure_logging
    from .server import SidecarServer

    force_offline(os.environ)
    log = configure_logging(os.environ.get("SIDECAR_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "info")
    try:
        settings = Settings.from_env(os.environ)
        log.info("loading backend", extra={"backend": settings.backend, "modelsRoot": str(settings.models_root)})
        backend = load_backend(settings, log)
    except ConfigError as error:
        log.error(f"configuration error: {error}")
        return EXIT_CONFIG
    except Exception:
        log.exception("backend failed to load")
        return 1
    return SidecarServer(backend, channel, log).serve(sys.stdin.buffer)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
