#!/usr/bin/env python3
"""Two clients on one session, both on the same tab (200x50): bytes each client receives per key
typed in client 1, 20 ms apart, and the session's CPU per key. Usage: two_clients_echo.py BINARY KEYS."""
import os, pty, select, sys, time, struct, fcntl, termios, statistics, tempfile, signal

def spawn(binary, args, env):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(env)
        os.execv(binary, [binary] + args)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    return pid, fd

def drain(fds, secs):
    end = time.time() + secs; n = {fd: 0 for fd in fds}
    while True:
        t = end - time.time()
        if t <= 0: return n
        r, _, _ = select.select(fds, [], [], t)
        for fd in r:
            try: n[fd] += len(os.read(fd, 65536))
            except OSError: pass

def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")

def session_pid(run):
    # The parent of the tab's shell (whose MEMMUX names the run's socket): the first session
    # is a fork of the server, without `--session-fd` in its command line.
    for p in os.listdir("/proc"):
        if not p.isdigit(): continue
        try:
            env = open(f"/proc/{p}/environ", "rb").read()
            exe = os.readlink(f"/proc/{p}/exe")
            with open(f"/proc/{p}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError: continue
        if os.path.basename(exe) == "bash" and b"MEMMUX=" + run.encode() in env: return ppid

binary, keys = sys.argv[1], int(sys.argv[2])
run = tempfile.mkdtemp()
env = dict(XDG_RUNTIME_DIR=run, PS1="$ ", TERM="xterm-256color", SHELL="/bin/bash")
os.environ.pop("MEMMUX_NO_SERVER", None)
a, fa = spawn(binary, ["--", "bash", "--norc", "--noprofile"], env)
drain([fa], 2.5)
b, fb = spawn(binary, ["attach"], env)
drain([fa, fb], 2.5)
sp = session_pid(run)
c0 = cpu(sp); got = {fa: [], fb: []}
for i in range(keys):
    os.write(fa, b"xyzw"[i % 4:i % 4 + 1])
    n = drain([fa, fb], 0.02)
    for fd in n: got[fd].append(n[fd])
    if i % 20 == 19:
        os.write(fa, b"\x15"); drain([fa, fb], 0.05)
c1 = cpu(sp)
print(f"{binary}: client 1 {statistics.median(got[fa])} B/key, client 2 {statistics.median(got[fb])} B/key; "
      f"session CPU {1000*(c1-c0)/keys:.3f} ms/key over {keys} keys")
for p in (a, b): os.kill(p, signal.SIGKILL)
os.system(f"MEMMUX_NO_SERVER= XDG_RUNTIME_DIR={run} {binary} kill-server >/dev/null 2>&1")
