# -*- coding: utf-8 -*-
"""Harness shared by the interop peers mp_peer.py and recipe_peer.py.

Their stdout protocol (one flushed line per event; the last line is
followed at once by the exit), the --deadline watchdog, hex helpers, and
run_main, which turns what escapes a peer into TIMEOUT or ERROR.  Imported
by the peers, not run.  Runs unchanged on CPython 2.7 and 3.6 .. 3.13 (no
f-strings, no walrus).  See README.md in this directory.
"""

import binascii
import errno
import os
import socket
import sys
import threading
import time

IO_TIMEOUT = 10.0
HOST = '127.0.0.1'

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_AUTH_FAILED = 3
EXIT_TIMEOUT = 4

# errno values that mean "the peer went away" (e.g. a Rust peer that
# rejected us and simply closed the connection).
GONE_ERRNOS = (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED)

_out_lock = threading.Lock()
_finished = [False]


def emit(line):
    _out_lock.acquire()
    try:
        if not _finished[0]:
            sys.stdout.write(line + '\n')
            sys.stdout.flush()
    finally:
        _out_lock.release()


def _final_locked(rc, line):
    """Caller holds _out_lock.  Print the last line and leave at once (no
    atexit / daemon-thread shutdown noise; sockets are already closed)."""
    if not _finished[0]:
        _finished[0] = True
        try:
            if line is not None:
                sys.stdout.write(line + '\n')
            sys.stdout.flush()
        except Exception:
            pass  # stdout gone (test stopped reading): nothing to report to
    try:
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(rc)


def finish(rc, line=None):
    _out_lock.acquire()
    _final_locked(rc, line)


def start_deadline(seconds):
    def watchdog():
        time.sleep(seconds)
        # If the main thread is stuck inside a stdout write (the test stopped
        # draining our pipe) it holds the lock: give it a moment, then exit
        # anyway without printing.  Lock.acquire(timeout=) is 3.x only.
        for _ in range(100):
            if _out_lock.acquire(False):
                _final_locked(EXIT_TIMEOUT, 'TIMEOUT')
            time.sleep(0.01)
        os._exit(EXIT_TIMEOUT)
    t = threading.Thread(target=watchdog, name='deadline')
    t.daemon = True
    t.start()


def to_hex(data):
    return str(binascii.hexlify(data).decode('ascii'))


def from_hex(text, what):
    try:
        return binascii.unhexlify(text.strip())
    except (TypeError, ValueError, binascii.Error):
        # Deliberately not echoing the value (it may be the key).
        raise ValueError('%s is not valid hex' % what)


def one_line(text):
    return ' '.join(str(text).splitlines())


def run_main(deadline, body):
    """Run body(), which returns the exit code, with IO_TIMEOUT on every
    socket and the watchdog at `deadline` seconds; a socket timeout ends in
    TIMEOUT (exit 4), any other exception in ERROR <repr> (exit 1)."""
    socket.setdefaulttimeout(IO_TIMEOUT)
    start_deadline(deadline)
    try:
        rc = body()
    except socket.timeout:
        finish(EXIT_TIMEOUT, 'TIMEOUT')
    except Exception as exc:
        finish(EXIT_ERROR, 'ERROR ' + one_line(repr(exc)))
    finish(rc)
