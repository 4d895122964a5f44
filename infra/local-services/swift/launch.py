"""Runs one Debian Swift server with a private swift.conf.

Debian's swift 2.30 server scripts always read /etc/swift/swift.conf; pointing
swift.common.utils.SWIFT_CONF_FILE at our own file before the server module is
loaded keeps a local all-in-one out of /etc.

usage: launch.py SWIFT_CONF SERVER_NAME SERVER_CONF
"""
import os
import runpy
import sys
import threading
from time import sleep as real_sleep  # bound before Swift's eventlet patches the time module

import swift.common.utils as utils


def exit_with_parent(parent: int) -> None:
    """Servers started for a test run or the demo must not outlive it, even when it is killed."""
    while os.getppid() == parent:
        real_sleep(1)
    os._exit(0)


threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()

swift_conf, server, server_conf = sys.argv[1:4]
utils.SWIFT_CONF_FILE = swift_conf
sys.argv = [f"swift-{server}-server", server_conf]
runpy.run_path(f"/usr/bin/swift-{server}-server", run_name="__main__")
