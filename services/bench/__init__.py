"""``haven bench``: throughput of the real pipeline on this machine."""
