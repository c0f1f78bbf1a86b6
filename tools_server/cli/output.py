"""What a terminal command prints on stdout (the stdio server's stdout is the protocol channel, and prints nothing)."""

from __future__ import annotations

import os
import sys


def print_output(text: str) -> None:
    """Print a command's result on stdout. A reader that stopped reading (`| head -1`) is not an error: what the
    command did stands (a write has landed), so the command keeps its own exit status, 0 when all went well, rather
    than Python's 1 for EPIPE, which here would say the tool refused the call."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # What is left in the buffer would fail again in the flush at exit, as a traceback: let it go to /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
