#!/usr/bin/env python3
"""Socket activation for the agent benchmarks, the way systemd's podman.socket serves podman.service on a device.

    socket-activate.py SOCKET PIDFILE COMMAND...

Listens on the unix SOCKET itself; when a client connects and COMMAND is not running, starts COMMAND with the
listening socket as fd 3 (LISTEN_FDS=1, LISTEN_PID set: sd_listen_fds(3)). COMMAND (e.g. `podman system service
--time=5`) serves every connection and exits once idle; the next connection starts it again. PIDFILE holds the running
COMMAND's PID, or is empty. COMMAND's CPU, once it exited and was reaped, is in this process's cutime/cstime
(/proc/PID/stat fields 16-17). Stops (and stops COMMAND) on SIGTERM or SIGINT.
"""
import os
import select
import signal
import socket
import subprocess
import sys

path, pidfile, command = sys.argv[1], sys.argv[2], sys.argv[3:]
if os.path.exists(path):
    os.unlink(path)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
listener.listen(128)
child = None


def stop(*_):
    # Not child.wait() here: the handler may run inside the main loop's wait, which holds Popen's lock.
    if child is not None and child.returncode is None:
        try:
            os.kill(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    raise SystemExit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)


def as_fd3():
    os.dup2(listener.fileno(), 3)
    os.set_inheritable(3, True)
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_PID"] = str(os.getpid())


def write_pid(pid):
    with open(pidfile + ".tmp", "w") as f:
        f.write(str(pid) if pid else "")
    os.replace(pidfile + ".tmp", pidfile)


write_pid(0)
while True:
    select.select([listener], [], [])
    child = subprocess.Popen(command, pass_fds=(3,), preexec_fn=as_fd3, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    write_pid(child.pid)
    child.wait()
    write_pid(0)
    child = None
