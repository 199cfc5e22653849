#!/usr/bin/env python3
"""Holds a listening TCP socket the way systemd does for a socket unit, and runs a program
with it as file descriptor 3 (LISTEN_FDS=1, LISTEN_PID = the program's pid), so the program
can be restarted while connections wait in the socket's backlog.

    socket_holder.py PROGRAM ARGS...

Prints `port N` once listening, then reads commands on stdin, one per line:
`start`, `restart` (SIGTERM, wait for the exit, start again, as `systemctl restart` does)
and `stop`. After each it prints `started PID` and/or `exited CODE`.
"""
import os
import signal
import socket
import subprocess
import sys


def main():
    cmd = sys.argv[1:]
    if not cmd:
        sys.exit("usage: socket_holder.py PROGRAM ARGS...")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    if sock.fileno() != 3:
        os.dup2(sock.fileno(), 3)
    print(f"port {sock.getsockname()[1]}", flush=True)
    child = None

    def start():
        # `exec` keeps the shell's pid, so $$ is the program's pid, as systemd sets it.
        wrapper = 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"'
        p = subprocess.Popen(["sh", "-c", wrapper, "sh", *cmd], pass_fds=(3,))
        print(f"started {p.pid}", flush=True)
        return p

    def stop(p):
        if p is None:
            return
        p.send_signal(signal.SIGTERM)
        print(f"exited {p.wait()}", flush=True)

    for line in sys.stdin:
        word = line.strip()
        if word == "start":
            child = start()
        elif word == "restart":
            stop(child)
            child = start()
        elif word == "stop":
            stop(child)
            child = None
        else:
            print(f"unknown command {word!r}", flush=True)
    stop(child)


if __name__ == "__main__":
    main()
