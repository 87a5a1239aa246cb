"""`python pdeathsig.py PARENT_PID CMD ARGS...`: ask Linux to SIGTERM this process when its parent dies, then exec
CMD.

The death signal survives exec. Doing this in a `preexec_fn` instead would run Python between fork and exec in a
parent that may hold gRPC threads (a test process that talked to the emulators): gRPC's fork handlers then abort
the child ("epoll_wait error: Bad file descriptor", SIGABRT). A separate tiny process has no such state.
"""

import contextlib
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1

if __name__ == "__main__":
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the child simply does not die with us
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(sys.argv[1]):  # the parent died before the signal was armed
        sys.exit(1)
    os.execvp(sys.argv[2], sys.argv[2:])  # noqa: S606 - argv built by devstack, never from input
