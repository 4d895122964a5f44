"""The GPU sidecar: a long-lived process that transcribes and classifies audio for apps/gpu.

Node writes one JSON request per line on stdin and reads one JSON reply per line on stdout.
Run it as ``python3 -m audio_sidecar`` with this directory on ``PYTHONPATH``. The protocol
layer uses only the standard library; the real models are imported lazily by their backends.
"""

PROTOCOL_VERSION = 1
