"""A stand-in for systemd's notification socket: binds a unix datagram socket (a path, or an abstract
name given as @name) with SO_PASSCRED, prints `listening`, then one JSON line per datagram with the
sender's PID from the kernel's SCM_CREDENTIALS, as systemd attributes it."""
import json
import os
import socket
import struct
import sys

name = sys.argv[1]
address = "\0" + name[1:] if name.startswith("@") else name
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(address)
if not name.startswith("@"):
    os.chmod(name, 0o666)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print("listening", flush=True)
ucred = struct.calcsize("3i")
while True:
    data, ancillary, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(ucred))
    pid = None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("3i", payload[:ucred])[0]
    print(json.dumps({"pid": pid, "message": data.decode()}), flush=True)
