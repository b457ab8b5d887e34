#!/usr/bin/env python3
"""pty_run.py CMD...: run CMD with a pseudo-terminal as its stdin, stdout and
stderr, copy everything it writes to our stdout, and exit with its status.
Tests use it to see what hoist writes to a terminal (colour, cursor codes)."""
import os
import pty
import sys

pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = sys.stdout.buffer
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:  # EIO: the child closed the terminal
        break
    if not data:
        break
    out.write(data)
out.flush()
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode")
         else (status >> 8))
