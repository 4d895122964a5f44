"""Builds single-device rings for account, container and object servers.

One Python process with the RingBuilder API is much faster than nine
swift-ring-builder calls. usage: make_rings.py DIR ACCOUNT_PORT CONTAINER_PORT OBJECT_PORT
"""
import sys

from swift.common.ring import RingBuilder

directory = sys.argv[1]
for name, port in zip(("account", "container", "object"), sys.argv[2:5]):
    builder = RingBuilder(10, 1, 1)
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port),
                     "device": "d1", "weight": 100, "meta": ""})
    builder.rebalance()
    builder.get_ring().save(f"{directory}/{name}.ring.gz")
