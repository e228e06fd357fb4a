"""A child process that dies with its parent (Linux ``PR_SET_PDEATHSIG``).

Apart from :mod:`infra.embedded` so that the worker's supervisor, which
imports little, can use it without the embedded infrastructure's modules.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: signal.Signals, parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn`` asking the kernel to send ``sig`` when the parent dies.

    CPython runs ``preexec_fn`` after switching to ``user=``, and a credential
    change would clear the setting, so this order is the one that works.
    """

    def preexec() -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec
