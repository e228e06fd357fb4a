"""The C allocator of a long-running worker process: fewer arenas, big blocks mapped.

glibc's malloc gives each thread that contends for memory an arena of its
own (up to eight per core) and, once a large block was freed, serves later
large blocks from those arenas instead of mapping them; a worker's threads
(database calls run in threads) and its fetches of megabytes then leave
memory in the arenas that the process keeps.  :func:`tune_malloc` caps the
arenas at two and maps every block of 128 KiB or more by itself, so it goes
back to the system when freed.  Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import logging

logger = logging.getLogger("haven.malloc")

#: ``mallopt`` parameters (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD_BYTES = 128 * 1024


def tune_malloc() -> bool:
    """Apply the settings above to this process; True when the allocator took them."""
    # The running program's own symbols include its C library's: no library search
    # (``ctypes.util.find_library`` runs programs to find one) at each process's start.
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    took = bool(mallopt(M_ARENA_MAX, ARENAS)) and bool(
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    )
    logger.info("allocator tuned" if took else "allocator not tuned", extra={"arenas": ARENAS})
    return took
