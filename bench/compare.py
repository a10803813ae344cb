#!/usr/bin/env python3
"""compare.py: memmux side by side with tmux (and zellij, mprocs when installed).

Every multiplexer runs inside an outer pseudo-terminal (200x50 by default) that
this script creates and reads all the time, in the same run, measured the same
way:

  throughput  `cat` of a ~50 MB file of plain lines, of SGR-coloured lines and
              of UTF-8 text (CJK, Hangul, accented, some emoji), typed at a
              cleared prompt: Enter -> end marker visible (MB/s)
  latency     key byte written to the outer pty -> that character visible in
              the output, escapes stripped (median and p90 ms, >= 200 keys)
  startup     spawn -> startup marker of the first shell visible (ms)
  memory      RSS / PSS of the multiplexer's own processes (never the shells)
              idle with 1 session, after 1, 4, 16 sessions each printed
              100,000 lines (scrollback limit 10,000), plus empty sessions
  idle        CPU (utime+stime) of those processes over 10 s, 4 sessions open
  flood       keystroke latency in one tab while another tab runs `yes`
  tabs        many tabs: time to open N, RSS, fds, threads, idle CPU (N = 100,
              1000; memmux and tmux)

"none" is no multiplexer at all: the pane shell alone in the outer pty, the
physical limit for throughput, latency and startup.

Standard library only (Python 3.11).  See bench/README.md.
"""

import argparse
import ctypes
import datetime
import fcntl
import json
import os
import platform
import pty
import random
import re
import resource
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time

HZ = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# Characters typed in the latency tests.  None of them is drawn by memmux's
# chrome (tab bar, status line, memory panel) or by tmux's default status line;
# each is typed once per prompt line (Ctrl-U clears the line after the set), so
# a redraw of the line can never show a key before it was typed.
LAT_KEYS = "zqj@&^"
# Marker letters: uppercase (never in the workloads, which are lowercase and
# digits), and not the final byte of a common escape sequence (B, H, J, K, m..).
# Two disjoint families: startup markers stay on screen (top of every new tab)
# while command markers are drawn, so a renderer that skips cells that already
# show the right character must never find one there.
MARKS = {"ready": ("Z", "EFINO"), "cmd": ("QUVWY", "QRUVWY")}

# Escape sequences and C0 controls (but \t and \n), for "visible text".
SEQ = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"                 # CSI
    rb"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC, DCS, SOS, PM, APC
    rb"|\x1b[ -/]*[0-~]"                        # ESC x, ESC ( B, ...
    rb"|[\x00-\x08\x0b-\x1f\x7f]")

# Terminal queries a multiplexer may send to its outer terminal at start-up.
QUERY = re.compile(
    rb"\x1b\[(?P<da>>?0?c)"
    rb"|\x1b\[(?P<dsr>\??[56])n"
    rb"|\x1b\[(?P<kb>\?)u"
    rb"|\x1b\[(?P<xtv>>0?)q"
    rb"|\x1b\[(?P<win>1[468])t"
    rb"|\x1b\[(?P<rqm>\??[0-9]+)\$p"
    rb"|\x1b\](?P<osc>1[0-2]|4;[0-9]+);\?(?P<st>\x07|\x1b\\)"
    rb"|\x1bP\+q(?P<tcap>[0-9A-Fa-f;]*)\x1b\\")


def visible(buf):
    """Text of `buf` without escape sequences; an unfinished one at the end
    (split across reads) is dropped rather than shown as text."""
    buf = bytes(buf)
    i = buf.rfind(b"\x1b")
    if i >= 0:
        m = SEQ.match(buf, i)
        if m is None or (m.end() == i + 2 and buf[i + 1:i + 2] in (b"[", b"]", b"P", b"X", b"^", b"_")):
            buf = buf[:i]
    return SEQ.sub(b"", buf)


class BenchError(Exception):
    pass


class Timeout(BenchError):
    pass


# --------------------------------------------------------------------------
# /proc
# --------------------------------------------------------------------------

def slurp(path, binary=False):
    try:
        with open(path, "rb" if binary else "r") as f:
            return f.read()
    except (OSError, ValueError):
        return None


def proc_table():
    """pid -> (state, ppid, own cpu ticks, waited-for children's ticks, comm)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        s = slurp(f"/proc/{d}/stat", True)
        if not s:
            continue
        r = s.rfind(b")")
        f = s[r + 2:].split()
        out[int(d)] = (f[0].decode(), int(f[1]), int(f[11]) + int(f[12]),
                       int(f[13]) + int(f[14]),
                       s[s.find(b"(") + 1:r].decode("utf-8", "replace"))
    return out


SHELLS = {"sh", "dash", "bash", "zsh", "fish"}


class ProcSet:
    """The processes of one multiplexer instance: everything whose environment
    carries its tag, and their descendants (the harness is a child subreaper,
    so a daemonised server stays below it).  'inner' = the shells in the panes
    and whatever runs below them: marked MXB_INNER=1 by the wrapper, a shell
    binary, or a descendant of either."""

    def __init__(self, tag):
        self.tag = b"MXB_TAG=" + tag.encode()

    def scan(self):
        me = os.getpid()
        table = proc_table()
        tagged, inner = set(), set()
        for pid, st in table.items():
            if pid == me or st[0] in "ZX":
                continue
            env = slurp(f"/proc/{pid}/environ", True)
            if not env:
                continue
            vars_ = env.split(b"\0")
            if self.tag in vars_:
                tagged.add(pid)
                if b"MXB_INNER=1" in vars_:
                    inner.add(pid)
        kids = {}
        for pid, st in table.items():
            kids.setdefault(st[1], []).append(pid)
        mine, todo = {}, list(tagged)
        while todo:
            p = todo.pop()
            if p in mine or p not in table or table[p][0] in "ZX":
                continue
            try:
                exe = os.path.basename(os.readlink(f"/proc/{p}/exe")).replace(" (deleted)", "")
            except OSError:
                exe = ""
            st = table[p]
            mine[p] = {"ppid": st[1], "cpu": st[2], "ccpu": st[3], "comm": st[4],
                       "exe": exe, "inner": p in inner or exe in SHELLS}
            todo.extend(kids.get(p, []))
        changed = True
        while changed:
            changed = False
            for p, i in mine.items():
                if not i["inner"] and mine.get(i["ppid"], {}).get("inner"):
                    i["inner"] = changed = True
        return mine

    def mux(self):
        return sorted(p for p, i in self.scan().items() if not i["inner"])

    def shells(self):
        """Top-level inner processes: one per session."""
        m = self.scan()
        return [p for p, i in m.items() if i["inner"] and not m.get(i["ppid"], {}).get("inner")]

    def everything(self):
        return sorted(self.scan())


def cpu_ticks(pids):
    out = {}
    for p in pids:
        s = slurp(f"/proc/{p}/stat", True)
        if s:
            f = s[s.rfind(b")") + 2:].split()
            out[p] = int(f[11]) + int(f[12])
    return out


def ticks_delta_s(a, b):
    return sum(v - a.get(p, 0) for p, v in b.items()) / HZ


def sched_ns(pids):
    """Time on CPU in ns per thread (/proc/PID/task/TID/schedstat): far finer
    than the 10 ms clock ticks of utime+stime."""
    return {t: v[0] for t, v in sched_threads(pids).items()}


def sched_threads(pids):
    """Per thread of `pids`: (on-CPU ns, times run, "pid/name") from schedstat and comm;
    "times run" counts the thread's turns on a CPU, about its wake-ups when it is idle."""
    out = {}
    for p in pids:
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            v = slurp(f"/proc/{p}/task/{t}/schedstat")
            comm = (slurp(f"/proc/{p}/task/{t}/comm") or "?").strip()
            if v:
                f = v.split()
                out[int(t)] = (int(f[0]), int(f[2]), f"{p}/{comm}")
    return out


def sched_threads_delta(a, b, seconds):
    """Per thread between two sched_threads() snapshots, busiest first: on-CPU ms per 10 s
    and turns on a CPU per second (a thread that ended in between is lost)."""
    rows = []
    for t, (ns, runs, name) in b.items():
        ns0, runs0, _ = a.get(t, (0, 0, name))
        rows.append({"tid": t, "thread": name, "ms_per_10s": (ns - ns0) / 1e6 * 10 / seconds,
                     "runs_per_s": (runs - runs0) / seconds})
    return sorted(rows, key=lambda r: -r["ms_per_10s"])


def sched_delta_ms(a, b):
    """On-CPU ms between two sched_ns() snapshots; a thread that ended in
    between is lost (not counted negative), a new one counts in full."""
    return sum(max(0, v - a.get(t, 0)) for t, v in b.items()) / 1e6


def memory_of(pids):
    tot = {"rss_kib": 0, "pss_kib": 0, "uss_kib": 0, "procs": []}
    for p in pids:
        status = slurp(f"/proc/{p}/status")
        roll = slurp(f"/proc/{p}/smaps_rollup")
        if not status or not roll:
            continue
        m = re.search(r"^VmRSS:\s+(\d+)", status, re.M)
        f = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB", roll, re.M)}
        rss = int(m.group(1)) if m else f.get("Rss", 0)
        pss = f.get("Pss", 0)
        uss = f.get("Private_Clean", 0) + f.get("Private_Dirty", 0)
        name = re.search(r"^Name:\s+(.*)$", status, re.M)
        tot["rss_kib"] += rss
        tot["pss_kib"] += pss
        tot["uss_kib"] += uss
        tot["procs"].append({"pid": p, "name": name.group(1) if name else "?",
                             "rss_kib": rss, "pss_kib": pss, "uss_kib": uss})
    return tot


def machine_jiffies():
    """(busy, total) jiffies of the whole machine."""
    v = [int(x) for x in (slurp("/proc/stat") or "cpu 0 0 0 0").splitlines()[0].split()[1:9]]
    v += [0] * (8 - len(v))
    return sum(v) - v[3] - v[4], sum(v)


def my_cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def reap_all():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# --------------------------------------------------------------------------
# The outer terminal
# --------------------------------------------------------------------------

class MarkerWatch:
    """Fires when `marker` is visible in the output received since arming.
    Cheap on bulk output: the (stripped) recent output is searched only while
    the marker's first letter, which the workloads never contain, was seen in
    the last LOOK bytes."""
    LOOK = 16384

    def __init__(self, term, marker, from_start=False):
        self.marker = marker
        self.first = marker[:1]
        self.since = 0 if from_start else term.total
        self.left = 0
        self.hit = None

    def feed(self, term, chunk, now):
        if self.first in chunk:
            self.left = self.LOOK
        elif self.left > 0:
            self.left -= len(chunk)
        else:
            return
        start = max(self.since, term.total - len(chunk) - 2 * self.LOOK)
        off = max(0, start - (term.total - len(term.tail)))
        # line feeds and tabs go too: a renderer may draw a marker in pieces
        # with a cursor move between them, and LF can be one
        if self.marker in visible(term.tail[off:]).translate(None, b"\n\t"):
            self.hit = now


class CharWatch:
    """Fires when byte `ch` is visible in the output received since arming."""

    def __init__(self, ch):
        self.ch = ch
        self.buf = bytearray()
        self.hit = None

    def feed(self, term, chunk, now):
        self.buf += chunk
        if len(self.buf) > 65536:
            del self.buf[:-32768]
        if self.ch in chunk and self.ch in visible(self.buf):
            self.hit = now


class Term:
    TAIL = 1 << 17

    def __init__(self, rows, cols, deadline):
        self.rows, self.cols, self.deadline = rows, cols, deadline
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ,
                    struct.pack("HHHH", rows, cols, cols * 8, rows * 16))
        os.set_blocking(self.master, False)
        self.total = 0
        self.tail = bytearray()
        self.carry = b""
        self.answer = True
        self.answers = {}
        self.outq = bytearray()
        self.watch = None
        self.eof = False

    def spawn(self, argv, env, cwd):
        def ctty():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        p = subprocess.Popen(argv, stdin=self.slave, stdout=self.slave, stderr=self.slave,
                             env=env, cwd=cwd, start_new_session=True, preexec_fn=ctty,
                             close_fds=True)
        os.close(self.slave)
        self.slave = None
        return p

    def close(self):
        for fd in (self.master, self.slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.master = self.slave = None

    # output -------------------------------------------------------------
    def _reply(self, window, skip):
        for m in QUERY.finditer(window):
            if m.end() <= skip:
                continue
            g = {k: (v.decode("latin-1") if v is not None else None)
                 for k, v in m.groupdict().items()}
            if g["da"] is not None:
                r = "\x1b[>1;10;0c" if g["da"].startswith(">") else "\x1b[?62;22c"
            elif g["dsr"] is not None:
                r = {"5": "\x1b[0n", "6": "\x1b[1;1R", "?6": "\x1b[?1;1;1R", "?5": "\x1b[?0n"}[g["dsr"]]
            elif g["kb"] is not None:
                r = "\x1b[?0u"
            elif g["xtv"] is not None:
                r = "\x1bP>|xterm(390)\x1b\\"
            elif g["win"] is not None:
                r = {"14": f"\x1b[4;{self.rows * 16};{self.cols * 8}t", "16": "\x1b[6;16;8t",
                     "18": f"\x1b[8;{self.rows};{self.cols}t"}[g["win"]]
            elif g["rqm"] is not None:
                r = f"\x1b[{g['rqm']};0$y"
            elif g["osc"] is not None:
                rgb = {"10": "ffff/ffff/ffff", "11": "0000/0000/0000"}.get(g["osc"], "8080/8080/8080")
                r = f"\x1b]{g['osc']};rgb:{rgb}{g['st']}"
            else:
                r = "\x1bP0+r\x1b\\"
            k = m.group(0).decode("latin-1").replace("\x1b", "ESC")
            self.answers[k] = self.answers.get(k, 0) + 1
            self.outq += r.encode()

    def _take(self, chunk, now):
        self.total += len(chunk)
        t = self.tail
        t += chunk
        if len(t) > 2 * self.TAIL:
            del t[:-self.TAIL]
        if self.answer:
            window = self.carry + chunk
            if b"\x1b" in window:
                self._reply(window, len(self.carry))
            self.carry = window[-48:]
        w = self.watch
        if w is not None and w.hit is None:
            w.feed(self, chunk, now)

    def _flush(self):
        while self.outq and self.master is not None:
            try:
                n = os.write(self.master, self.outq)
            except BlockingIOError:
                return
            except OSError:
                self.outq.clear()
                return
            del self.outq[:n]

    def pump(self, timeout):
        """Read everything available; wait at most `timeout` s for the first byte."""
        if time.monotonic() > self.deadline:
            raise Timeout("time limit (--max-minutes) reached")
        if self.master is None or self.eof:
            time.sleep(max(0.0, timeout))
            return 0
        if self.outq:
            self._flush()
        try:
            r, w, _ = select.select([self.master], [self.master] if self.outq else [], [],
                                    max(0.0, timeout))
        except InterruptedError:
            return 0
        if w:
            self._flush()
        got = 0
        if r:
            while got < (8 << 20):
                try:
                    chunk = os.read(self.master, 1 << 16)
                except BlockingIOError:
                    break
                except OSError:          # EIO: every slave fd is closed
                    self.eof = True
                    break
                if not chunk:
                    self.eof = True
                    break
                got += len(chunk)
                self._take(chunk, time.perf_counter())
        if self.outq:
            self._flush()
        return got

    def pump_for(self, seconds):
        end = time.perf_counter() + seconds
        while True:
            left = end - time.perf_counter()
            if left <= 0:
                return
            self.pump(min(left, 0.05))

    def wait(self, watch, timeout, what):
        """Read until `watch` fires; returns the perf_counter time it did."""
        self.watch = watch
        end = time.perf_counter() + timeout
        try:
            while watch.hit is None:
                left = end - time.perf_counter()
                if left <= 0:
                    raise Timeout(f"no {what} after {timeout:.0f} s")
                if self.eof:
                    raise BenchError(f"the multiplexer exited while waiting for {what}")
                self.pump(min(left, 0.05))
            return watch.hit
        finally:
            self.watch = None

    def write(self, data, timeout=10.0):
        end = time.perf_counter() + timeout
        while data:
            if time.perf_counter() > end:
                raise Timeout("could not write to the outer pty (nobody reads it)")
            try:
                n = os.write(self.master, data)
                data = data[n:]
            except BlockingIOError:
                self.pump(0.01)

    def screen(self, n=2500):
        return visible(self.tail[-30000:]).decode("utf-8", "replace")[-n:]


# --------------------------------------------------------------------------
# Multiplexers
# --------------------------------------------------------------------------

class Mux:
    """How to start one multiplexer, open a new session in it, and stop it.
    Key lists: each item is written on its own, 150 ms apart."""
    name = "?"
    new_tab_keys = [b"\x02", b"c"]      # tmux and memmux: prefix c
    post_new_tab_keys = []
    post_start_keys = []
    conf_name = "conf"
    scrollback_note = ""

    def __init__(self, binary):
        self.binary = binary

    def conf(self, b, inst):
        return None

    def argv(self, b, inst):
        raise NotImplementedError

    def stop_argv(self, b, inst):
        return None

    def version(self):
        try:
            r = subprocess.run([self.binary, "--version"] if self.name != "tmux" else [self.binary, "-V"],
                               capture_output=True, text=True, timeout=10,
                               stdin=subprocess.DEVNULL)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return None


class Memmux(Mux):
    name = "memmux"
    conf_name = "memmux.toml"

    def conf(self, b, inst):
        return (f"scrollback-lines = {b.a.scrollback}\n"
                "[memory-panel]\n"
                f"show = \"{b.a.memmux_panel}\"\n")

    def argv(self, b, inst):
        return self.in_own_runtime_dir(b, inst) + [self.binary, "--config", inst.conf_path,
                                                    "--", b.wrapper]

    # A memmux with sessions (issue 17) runs through a per-user server: each instance gets a
    # server of its own (its own XDG_RUNTIME_DIR), ended with `kill-server` when it stops.
    def in_own_runtime_dir(self, b, inst):
        return ["env", f"XDG_RUNTIME_DIR={os.path.join(b.rundir, f'xdg-{inst.n}')}"]

    def has_server(self):
        if not hasattr(self, "_has_server"):
            try:
                self._has_server = subprocess.run(
                    [self.binary, "kill-server", "--help"], capture_output=True, timeout=10,
                    stdin=subprocess.DEVNULL).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                self._has_server = False
        return self._has_server

    def stop_argv(self, b, inst):
        if not self.has_server():
            return None
        return self.in_own_runtime_dir(b, inst) + [self.binary, "kill-server"]

    @property
    def scrollback_note(self):
        return "scrollback-lines in --config TOML; sessions are tabs (prefix c)"

    def version(self):
        v = super().version()
        try:
            # the last commit that changed what the binary is built from
            rev = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%h", "--",
                                  "src", "Cargo.toml", "Cargo.lock"],
                                 capture_output=True, text=True, timeout=10).stdout.strip()
            dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--",
                                    "src", "Cargo.toml", "Cargo.lock"],
                                   capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            rev = dirty = ""
        return f"{v} (src at {rev}{', modified' if dirty else ''})" if rev else v


class MemmuxBase(Memmux):
    """A second memmux binary (`--memmux-base`), e.g. the build before a change, measured
    in the same run as the one under test."""
    name = "memmux-base"

    def version(self):
        return f"{Mux.version(self)} ({self.binary})"


class NoMux(Mux):
    """No multiplexer: the pane shell alone in the outer pty (one session, no tabs). Its
    processes are all "inner", so it has no multiplexer CPU or memory figures."""
    name = "none"
    new_tab_keys = None
    scrollback_note = "no multiplexer: the shell alone in the outer pty"

    def argv(self, b, inst):
        return [b.wrapper]

    def version(self):
        try:
            r = subprocess.run([self.binary, "--version"], capture_output=True, text=True,
                               timeout=10, stdin=subprocess.DEVNULL)
            return "no multiplexer; " + r.stdout.splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return "no multiplexer"


class Tmux(Mux):
    name = "tmux"
    conf_name = "tmux.conf"
    scrollback_note = "history-limit in its own -f config; sessions are windows (prefix c)"

    def conf(self, b, inst):
        return f"set -g history-limit {b.a.scrollback}\nset -g default-shell {b.wrapper}\n"

    def argv(self, b, inst):
        return [self.binary, "-L", inst.sock, "-f", inst.conf_path, "new-session", b.wrapper]

    def stop_argv(self, b, inst):
        return [self.binary, "-L", inst.sock, "kill-server"]


class Zellij(Mux):
    name = "zellij"
    conf_name = "zellij.kdl"
    new_tab_keys = [b"\x14", b"n"]      # Ctrl-t n (default keys)
    scrollback_note = "scroll_buffer_size in --config KDL; sessions are tabs (Ctrl-t n)"

    def conf(self, b, inst):
        return (f'default_shell "{b.wrapper}"\n'
                f"scroll_buffer_size {b.a.scrollback}\n"
                "show_startup_tips false\nshow_release_notes false\n"
                "session_serialization false\ndisable_session_metadata true\n")

    def argv(self, b, inst):
        return [self.binary, "--config", inst.conf_path, "--session", inst.sock]

    def stop_argv(self, b, inst):
        return [self.binary, "kill-session", inst.sock]


class Mprocs(Mux):
    name = "mprocs"
    conf_name = "mprocs.yaml"
    post_start_keys = [b"\x01"]                          # focus the terminal
    scrollback_note = "scrollback in --config YAML; sessions are processes added with 'a'"

    @property
    def new_tab_keys(self):
        # Ctrl-a (to the list), a (add), the command, Enter
        return [b"\x01", b"a", f"exec {self.wrapper}".encode(), b"\r"]

    post_new_tab_keys = [b"j", b"\x01"]                   # select the new one, focus it

    def conf(self, b, inst):
        self.wrapper = b.wrapper
        return f"scrollback: {b.a.scrollback}\nprocs:\n  s1:\n    cmd: [\"{b.wrapper}\"]\n"

    def argv(self, b, inst):
        return [self.binary, "--config", inst.conf_path]


MUXES = {"memmux": Memmux, "memmux-base": MemmuxBase, "tmux": Tmux, "zellij": Zellij,
         "mprocs": Mprocs, "none": NoMux}
# Multiplexers the targets compare memmux with ("best peer"): not a second memmux, not "none".
PEERS = ("tmux", "zellij", "mprocs")


class Instance:
    """One running multiplexer in its own outer terminal."""

    def __init__(self, b, mux, n):
        self.b, self.mux, self.n = b, mux, n
        self.tag = f"{b.run_id}-{n}"
        self.sock = f"mxb{os.getpid()}x{n}"
        self.procs = ProcSet(self.tag)
        self.term = None
        self.proc = None
        self.sessions = 0
        self.conf_path = os.path.join(b.rundir, f"{n}-{mux.conf_name}")

    def env(self):
        b = self.b
        e = dict(b.base_env)
        e.update({"MXB_TAG": self.tag, "MXB_READY": self.ready.decode()})
        return e

    def start(self):
        b = self.b
        b.startups.setdefault(self.mux.name, [])
        text = self.mux.conf(b, self)
        if text is not None:
            with open(self.conf_path, "w") as f:
                f.write(text)
        self.ready = b.marker("ready")
        self.term = Term(b.a.rows, b.a.cols, b.deadline)
        watch = MarkerWatch(self.term, self.ready, from_start=True)
        self.term.watch = watch
        t0 = time.perf_counter()
        self.proc = self.term.spawn(self.mux.argv(b, self), self.env(), b.rundir)
        b.spawned.add(self.proc.pid)
        t1 = self.term.wait(watch, b.a.startup_timeout, "startup marker (first prompt)")
        self.startup_ms = (t1 - t0) * 1000
        if b.counting:
            b.startups[self.mux.name].append(self.startup_ms)
        self.sessions = 1
        self.wait_shells(1)
        for k in self.mux.post_start_keys:
            self.term.pump_for(0.15)
            self.term.write(k)
        self.term.pump_for(0.3)
        return self.startup_ms

    def wait_shells(self, n, timeout=20.0):
        end = time.perf_counter() + timeout
        while len(self.procs.shells()) < n:
            if time.perf_counter() > end:
                raise Timeout(f"the shell of session {n} did not start within {timeout:.0f} s "
                              f"(new-session keys not acted on?)")
            self.term.pump(0.05)

    def new_tab(self):
        watch = MarkerWatch(self.term, self.ready)
        self.term.watch = watch
        for k in self.mux.new_tab_keys:
            self.term.write(k)
            self.term.pump_for(0.15)
        self.sessions += 1
        self.wait_shells(self.sessions)
        for k in self.mux.post_new_tab_keys:
            self.term.pump_for(0.15)
            self.term.write(k)
        t = time.perf_counter()
        self.term.wait(watch, 15.0, f"startup marker of session {self.sessions}")
        self.term.pump_for(0.2)
        return t

    def run(self, cmd, timeout=60.0, suffix=""):
        """Type `cmd; printf MARKER[; suffix]`, Enter, wait until MARKER is
        visible.  MARKER is written as octal escapes, so the echoed command
        line never contains it.  Returns (seconds, wall clock at Enter)."""
        marker = self.b.marker()
        line = (f"{cmd}; " if cmd else "") + "printf '" + "".join(f"\\{c:03o}" for c in marker) + "\\n'"
        if suffix:
            line += "; " + suffix
        self.term.write(line.encode())
        self.term.pump_for(0.15)
        watch = MarkerWatch(self.term, marker)
        self.term.watch = watch
        wall = time.time()
        t0 = time.perf_counter()
        self.term.write(b"\r")
        t1 = self.term.wait(watch, timeout, f"end marker of `{cmd[:50]}`")
        return t1 - t0, wall

    def settle(self, max_s=10.0, window=0.5):
        """Wait (bounded) until the multiplexer uses <= 1 clock tick per window."""
        end = time.perf_counter() + max_s
        while time.perf_counter() < end:
            pids = self.procs.mux()
            a = cpu_ticks(pids)
            self.term.pump_for(window)
            if ticks_delta_s(a, cpu_ticks(pids)) * HZ <= 1:
                return True
        return False

    def stop(self):
        b = self.b
        try:
            argv = self.mux.stop_argv(b, self)
            if argv and self.proc is not None:
                try:
                    subprocess.run(argv, env=self.env(), cwd=b.rundir, timeout=5,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            elif self.proc is not None and self.proc.poll() is None:
                try:
                    os.kill(self.proc.pid, signal.SIGTERM)
                except OSError:
                    pass
            self._wait_gone(3.0)
            for sig in (signal.SIGTERM, signal.SIGKILL):
                pids = set(self.procs.everything())
                if self.proc is not None and self.proc.poll() is None:
                    pids.add(self.proc.pid)
                if not pids:
                    break
                for p in pids:
                    try:
                        os.kill(p, sig)
                    except OSError:
                        pass
                self._wait_gone(2.0)
            if self.proc is not None:
                try:
                    self.proc.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    pass
                b.spawned.discard(self.proc.pid)
            reap_all()
        finally:
            if self.term is not None:
                self.term.close()

    def _wait_gone(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            reap_all()
            if not self.procs.everything() and (self.proc is None or self.proc.poll() is not None):
                return True
            if self.term is not None and self.term.master is not None:
                self.term.pump(0.05)
            else:
                time.sleep(0.05)
        return False


# --------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------

def median(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def pct(sorted_v, p):
    return sorted_v[min(len(sorted_v) - 1, int(p * len(sorted_v)))] if sorted_v else None


def slope(pts):
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / den if den else None


class Bench:
    def __init__(self, a):
        self.a = a
        self.workdir = os.path.abspath(a.workdir)
        self.run_id = f"{os.getpid()}{random.randrange(1 << 24):06x}"
        self.rundir = os.path.join(self.workdir, "run", self.run_id)
        self.datadir = os.path.join(self.workdir, "data")
        home = os.path.join(self.rundir, "home")
        tmp = os.path.join(self.rundir, "tmp")
        for d in (self.rundir, self.datadir, home, tmp, os.path.join(tmp, "zellij"),
                  os.path.join(self.rundir, "xdg")):
            os.makedirs(d, mode=0o700, exist_ok=True)
        self.deadline = time.monotonic() + a.max_minutes * 60
        self.spawned = set()
        self.startups = {}         # every counted instance start, per multiplexer
        self.counting = True
        self.instances = []
        self.recent_marks = {}
        tools = [os.path.abspath(os.path.expanduser(p)) for p in a.tools_dir]
        self.path = os.pathsep.join([os.path.join(t, "bin") for t in tools] + [t for t in tools]
                                    + [os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")])
        self.write_wrapper()
        self.base_env = {
            "PATH": self.path, "HOME": home,
            "USER": os.environ.get("USER", "root"), "LOGNAME": os.environ.get("USER", "root"),
            "TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8",
            "SHELL": self.wrapper, "TMPDIR": tmp, "TMUX_TMPDIR": tmp,
            "ZELLIJ_SOCKET_DIR": os.path.join(tmp, "zellij"),
            "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
            "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
            "XDG_CACHE_HOME": os.path.join(home, ".cache"),
            "XDG_RUNTIME_DIR": os.path.join(self.rundir, "xdg"),
        }
        # MEMMUX_NO_SERVER=1 in the bench's environment: memmux runs in its terminal, without
        # the server and session processes (the environment above is built from scratch).
        if os.environ.get("MEMMUX_NO_SERVER"):
            self.base_env["MEMMUX_NO_SERVER"] = os.environ["MEMMUX_NO_SERVER"]
        try:
            self.muxes = self.find_muxes()
        except BenchError:
            shutil.rmtree(self.rundir, ignore_errors=True)
            raise

    # setup ---------------------------------------------------------------
    def log(self, *msg):
        print(f"[{time.strftime('%H:%M:%S')}] " + " ".join(str(m) for m in msg), flush=True)

    def find_muxes(self):
        out, self.skipped = [], {}
        for name in self.a.only:
            if name in ("memmux", "memmux-base"):
                path = os.path.abspath(self.a.memmux if name == "memmux" else self.a.memmux_base or "")
                if name == "memmux-base" and not self.a.memmux_base:
                    self.skipped[name] = "no --memmux-base binary given"
                    continue
                if not os.access(path, os.X_OK):
                    raise BenchError(f"memmux binary {path} not found: run `cargo build --release` "
                                     "or pass --memmux PATH")
            elif name == "none":
                path = shutil.which("bash") or "/bin/bash"
            else:
                path = shutil.which(name, path=self.path)
                if not path:
                    self.skipped[name] = "not installed (looked on PATH and in --tools-dir)"
                    self.log(f"skipping {name}: {self.skipped[name]}")
                    continue
            out.append(MUXES[name](path))
        if not out:
            raise BenchError("nothing to run")
        return out

    def write_wrapper(self):
        bash = shutil.which("bash") or "/bin/bash"
        self.wrapper = os.path.join(self.rundir, "pane-shell")
        with open(self.wrapper, "w") as f:
            f.write("#!/bin/sh\n"
                    "# compare.py pane shell: plain bash, prompt '$ ', prints $MXB_READY\n"
                    "# right before its first prompt (the startup marker)\n"
                    "MXB_INNER=1 HISTFILE=/dev/null PS1='$ '\n"
                    "PROMPT_COMMAND='printf \"%s\\n\" \"$MXB_READY\"; unset PROMPT_COMMAND'\n"
                    "export MXB_INNER HISTFILE PS1 PROMPT_COMMAND\n"
                    f"exec {bash} --norc --noprofile -i\n")
        os.chmod(self.wrapper, 0o755)

    def marker(self, family="cmd"):
        """A fresh uppercase marker that differs at every position from the
        last few of its family (and the other family uses other letters), so
        a renderer that only redraws changed cells still draws all of it."""
        first, rest = MARKS[family]
        recent = self.recent_marks.setdefault(family, [])
        while True:
            m = [random.choice(first)] + [random.choice(rest) for _ in range(13)]
            if all(all(m[i] != old[i] for i in range(0 if len(first) > 1 else 1, len(m)))
                   for old in recent):
                break
        recent.append(m)
        del recent[:-2]
        return "".join(m).encode()

    def make_data(self):
        a = self.a
        rnd = random.Random(20240611)
        words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                         for _ in range(rnd.randint(2, 10))) for _ in range(3000)]

        def plain_body(n):            # visible length n
            s = rnd.choice(words)
            while len(s) < n:
                s += " " + rnd.choice(words)
            return s[:n]

        def sgr_body(n):
            parts, vis = [], 0
            while vis < n:
                w = rnd.choice(words)[:max(1, n - vis - 1)]
                r = rnd.random()
                if r < 0.35:
                    sgr = f"38;5;{rnd.randrange(256)}"
                elif r < 0.55:
                    sgr = f"38;5;{rnd.randrange(256)};48;5;{rnd.randrange(256)}"
                elif r < 0.75:
                    sgr = f"38;2;{rnd.randrange(256)};{rnd.randrange(256)};{rnd.randrange(256)}"
                elif r < 0.9:
                    sgr = f"1;38;5;{rnd.randrange(256)}"
                else:
                    sgr = f"4;1;38;2;{rnd.randrange(256)};{rnd.randrange(256)};{rnd.randrange(256)}"
                parts.append(f" \x1b[{sgr}m{w}\x1b[0m")
                vis += 1 + len(w)
            return "".join(parts)

        def build(path, body, number, nbytes=None, nlines=None):
            if os.path.exists(path):
                return path
            self.log(f"writing {path}")
            bodies = [body(rnd.randint(71, 91)) for _ in range(4000)]   # + 9-char number
            tmp = path + ".part"
            with open(tmp, "w", encoding="utf-8") as f:
                size = i = 0
                buf = []
                while (nbytes is None or size < nbytes) and (nlines is None or i < nlines):
                    line = f"{number(i)}{bodies[(i * 7919) % len(bodies)]}\n"
                    buf.append(line)
                    size += len(line.encode())
                    i += 1
                    if len(buf) == 20000:
                        f.write("".join(buf))
                        buf = []
                f.write("".join(buf))
            os.rename(tmp, path)
            return path

        # Chinese, Japanese, Hangul and accented Latin, a space now and then and an emoji in
        # one character of 50: 30-45 characters, most of them 2 columns and 3 bytes wide.
        cjk = ("的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着"
               "去之过家学对可里后日本語のテキストです한국어텍스트éàüößçñ")
        emoji = "\u2705\u26a1\U0001F600\U0001F680"

        def utf8_body(n):
            chars = rnd.randint(30, 45)
            out = []
            for _ in range(chars):
                r = rnd.random()
                out.append(" " if r < 0.08 else rnd.choice(emoji) if r < 0.10 else rnd.choice(cjk))
            return "".join(out)

        mb = a.tp_mb
        self.utf8 = build(os.path.join(self.datadir, f"utf8-{mb}MB.txt"), utf8_body,
                          lambda i: f"{i:08d}", nbytes=mb * 10 ** 6)
        self.plain = build(os.path.join(self.datadir, f"plain-{mb}MB.txt"), plain_body,
                           lambda i: f"{i:08d}", nbytes=mb * 10 ** 6)
        self.sgr = build(os.path.join(self.datadir, f"sgr-{mb}MB.txt"), sgr_body,
                         lambda i: f"\x1b[1;33m{i:08d}\x1b[0m", nbytes=mb * 10 ** 6)
        self.fill = build(os.path.join(self.datadir, f"fill-{a.fill_lines}.txt"), plain_body,
                          lambda i: f"{i:08d}", nlines=a.fill_lines)

    def quiet_machine(self):
        """Wait (bounded by --quiet-wait) until the machine as a whole uses less
        than --quiet-below of its CPUs over one second."""
        a, t0 = self.a, time.monotonic()
        while True:
            j0 = machine_jiffies()
            time.sleep(1.0)
            j1 = machine_jiffies()
            busy = (j1[0] - j0[0]) / max(1, j1[1] - j0[1])
            waited = time.monotonic() - t0
            if busy <= a.quiet_below or waited >= a.quiet_wait or time.monotonic() > self.deadline:
                break
        if busy > a.quiet_below:
            self.log(f"  machine still {busy:.0%} busy after {waited:.0f} s; measuring anyway")
        return {"waited_s": round(waited, 1), "busy_before": round(busy, 3),
                "loadavg": os.getloadavg()[0]}

    def instance(self, mux):
        inst = Instance(self, mux, len(self.instances))
        self.instances.append(inst)
        return inst

    # measurements --------------------------------------------------------
    def latency(self, inst, nkeys, seed):
        a, term = self.a, inst.term
        rnd = random.Random(seed)
        got, timeouts, col = [], 0, 0
        term.write(b"\x15")
        term.pump_for(0.3)
        for i in range(nkeys):
            if col == len(LAT_KEYS):
                term.write(b"\x15")          # Ctrl-U: blank prompt line again
                term.pump_for(0.2)
                col = 0
            term.pump_for(rnd.uniform(a.pause_ms[0], a.pause_ms[1]) / 1000)
            ch = LAT_KEYS[col].encode()
            col += 1
            w = CharWatch(ch)
            term.watch = w
            t0 = time.perf_counter()
            term.write(ch)
            try:
                got.append((term.wait(w, 2.0, "key echo") - t0) * 1000)
            except Timeout:
                timeouts += 1
        term.write(b"\x15")
        term.pump_for(0.3)
        s = sorted(got)
        return {"median_ms": median(s), "p90_ms": pct(s, 0.9), "p99_ms": pct(s, 0.99),
                "min_ms": s[0] if s else None, "max_ms": s[-1] if s else None,
                "n": len(s), "timeouts": timeouts}

    def throughput(self, inst, path):
        term = inst.term
        inst.run("clear")
        inst.settle(5)
        done = os.path.join(self.rundir, f"done-{inst.n}-{time.time_ns()}")
        pids = inst.procs.mux()
        c0, h0, j0, o0 = cpu_ticks(pids), my_cpu_s(), machine_jiffies(), term.total
        term.answer = False      # nothing queries the terminal in the middle of `cat`
        try:
            secs, wall = inst.run(f"cat {path}", timeout=self.a.tp_timeout,
                                  suffix=f"date +%s.%N >{done}")
        finally:
            term.answer = True
        c1, h1, j1, o1 = cpu_ticks(pids), my_cpu_s(), machine_jiffies(), term.total
        size = os.path.getsize(path)
        r = {"seconds": secs, "mb_s": size / 1e6 / secs, "file_bytes": size,
             "drawn_bytes": o1 - o0, "mux_cpu_s": ticks_delta_s(c0, c1),
             "harness_cpu_s": h1 - h0, "machine_cpu_s": (j1[0] - j0[0]) / HZ}
        # when the shell got past `cat` (the multiplexer had read all of it)
        end = time.perf_counter() + 10
        r["shell_done_s"] = None
        while time.perf_counter() < end:
            term.pump(0.05)
            t = slurp(done)
            if t and t.strip():
                try:
                    r["shell_done_s"] = float(t) - wall
                except ValueError:
                    pass
                break
        inst.settle(5)
        return r

    def mem_sample(self, inst, label):
        inst.settle(self.a.settle_max)
        m = memory_of(inst.procs.mux())
        m["label"], m["sessions"] = label, inst.sessions
        self.log(f"  {label:>14}: {inst.sessions:2d} sessions  RSS {m['rss_kib']} KiB  "
                 f"PSS {m['pss_kib']} KiB  ({', '.join(p['name'] for p in m['procs'])})")
        return m

    def idle_cpu(self, inst):
        inst.run("clear")
        inst.settle(self.a.settle_max)
        inst.term.pump_for(2.0)
        pids = inst.procs.mux()
        c0, n0, o0, t0 = cpu_ticks(pids), sched_ns(pids), inst.term.total, time.perf_counter()
        th0 = sched_threads(pids)
        inst.term.pump_for(self.a.idle_seconds)
        c1, n1, o1, t1 = cpu_ticks(pids), sched_ns(pids), inst.term.total, time.perf_counter()
        th1 = sched_threads(pids)
        r = {"sessions": inst.sessions, "seconds": t1 - t0, "cpu_s": ticks_delta_s(c0, c1),
             "sched_ms": sched_delta_ms(n0, n1), "drawn_bytes": o1 - o0,
             "per_process": {str(p): (c1[p] - c0.get(p, 0)) / HZ for p in c1}}
        r["cpu_s_per_10s"] = r["cpu_s"] * 10 / r["seconds"]
        r["per_thread"] = sched_threads_delta(th0, th1, r["seconds"])
        self.log(f"  idle: {r['cpu_s']:.2f} s CPU ({r['sched_ms']:.2f} ms on CPU by schedstat) "
                 f"in {r['seconds']:.1f} s with {inst.sessions} "
                 f"sessions, {r['drawn_bytes']} bytes drawn")
        busy = [t for t in r["per_thread"] if t["runs_per_s"] > 0]
        self.log("  idle per thread (ms per 10 s, runs/s): " + (", ".join(
            f"{t['thread']} {t['ms_per_10s']:.2f} ({t['runs_per_s']:.1f})" for t in busy[:8]) or "none ran"))
        return r

    # runs: each on a fresh instance ----------------------------------------
    def perf_run(self, mux, rep):
        a = self.a
        res = {"quiet": self.quiet_machine()}
        inst = self.instance(mux)
        try:
            res["startup_ms"] = inst.start()
            self.log(f"  startup {res['startup_ms']:.1f} ms")
            res["answered"] = dict(inst.term.answers)
            inst.run("clear")
            inst.settle(5)
            if "latency" in a.tests:
                res["latency"] = self.latency(inst, a.keys, seed=rep)
                lat = res["latency"]
                self.log(f"  latency median {lat['median_ms']:.2f} ms, p90 {lat['p90_ms']:.2f} ms"
                         f" ({lat['n']} keys, {lat['timeouts']} timeouts)")
            if "throughput" in a.tests:
                for kind, path in (("plain", self.plain), ("sgr", self.sgr), ("utf8", self.utf8)):
                    r = self.throughput(inst, path)
                    res[f"tp_{kind}"] = r
                    other = max(0.0, r["machine_cpu_s"] - r["mux_cpu_s"] - r["harness_cpu_s"])
                    self.log(f"  throughput {kind}: {r['mb_s']:.1f} MB/s ({r['seconds']:.2f} s; "
                             f"mux CPU {r['mux_cpu_s']:.2f} s, drew {r['drawn_bytes'] / 1e6:.1f} MB, "
                             f"shell done at {r['shell_done_s'] or float('nan'):.2f} s, "
                             f"other CPU {other:.2f} s incl. cat and the kernel)")
        finally:
            inst.stop()
        return res

    def mem_run(self, mux, rep):
        """Two fresh instances: (1) idle with one session, then with
        --empty-sessions more empty ones; (2) 1, 4, 16 sessions that each
        printed --fill-lines lines, with the idle CPU test at 4."""
        a = self.a
        res = {"quiet": self.quiet_machine(), "samples": [], "fill_s": []}
        inst = self.instance(mux)
        try:
            res["startup_ms"] = inst.start()
            inst.run("clear")
            res["samples"].append(self.mem_sample(inst, "idle1"))
            for _ in range(a.empty_sessions):
                inst.new_tab()
                inst.run("clear")
            if a.empty_sessions:
                # Idle means quiet for a while: memmux parks a hidden tab after 2 s without
                # output (term/park.rs); tmux, zellij and mprocs are not affected.
                inst.term.pump_for(a.park_wait)
                res["samples"].append(self.mem_sample(inst, f"idle1+empty{a.empty_sessions}"))
        finally:
            inst.stop()
        inst = self.instance(mux)
        fills_log = os.path.join(self.rundir, f"fills-{inst.n}")
        try:
            inst.start()
            inst.run("clear")

            def fill():
                s, _ = inst.run(f"cat {self.fill}", timeout=a.tp_timeout,
                                suffix=f"echo $$ >>{fills_log}")
                res["fill_s"].append(s)

            fill()
            for target in sorted(set(a.sessions)):
                while inst.sessions < target:
                    inst.new_tab()
                    inst.run("clear")
                    fill()
                res["samples"].append(self.mem_sample(inst, f"full{target}"))
                if target == a.idle_sessions and "idle" in a.tests:
                    res["idle"] = self.idle_cpu(inst)
            if "idle" in a.tests and "idle" not in res:
                res["idle"] = self.idle_cpu(inst)
            inst.term.pump_for(0.2)
            shells = (slurp(fills_log) or "").split()
            res["fills"], res["fill_shells"] = len(shells), len(set(shells))
            if len(set(shells)) != len(res["fill_s"]):
                raise BenchError(f"the {len(res['fill_s'])} fills ran in {len(set(shells))} "
                                 "distinct shells: new-session keys went astray")
        finally:
            inst.stop()
        return res

    def flood_run(self, mux, rep):
        """Keystroke latency in tab 2, first with tab 1 idle, then while tab 1
        runs the flood command (started by a file trigger, so no tab switch)."""
        a = self.a
        res = {"quiet": self.quiet_machine(), "flood_cmd": a.flood}
        inst = self.instance(mux)
        go = os.path.join(self.rundir, f"go-{inst.n}")
        try:
            res["startup_ms"] = inst.start()
            inst.run("clear")
            inst.term.write(f"clear; while [ ! -e {go} ]; do sleep 0.3; done; {a.flood}\r".encode())
            inst.term.pump_for(0.5)
            inst.new_tab()
            inst.run("clear")
            inst.settle(5)
            q, f = flood_pair(self, inst, a, go, rep, res, "tab 1")
            self.log(f"  flood: median {q:.2f} ms quiet -> {f:.2f} ms flooding "
                     f"(+{res['delta_ms']:.2f} ms; {res['flood_lat']['timeouts']} timeouts; "
                     f"mux {res['mux_cpu_share']:.0%} of a core, "
                     f"flooder {res['flooder_cpu_share']:.0%})")
        finally:
            inst.stop()
        return res

    def tabs_run(self, mux, rep):
        """Many tabs in one instance: the new-session keys for N tabs written back to back,
        then the time until N shells run, the multiplexer's RSS, descriptors and threads,
        and its CPU over --idle-seconds (memmux's panel shown), for each N of --tabs in turn;
        then the same CPU figures over a second window --tabs-late seconds after the tabs
        settled (the first opens a few seconds after, while the young tabs' last reads may
        still fall in it).
        The multiplexer starts with a soft descriptor limit of --tabs-nofile (the common
        1,024): raising it, if it needs more, is its own business."""
        a = self.a
        res = {"quiet": self.quiet_machine(), "points": []}
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(a.tabs_nofile, hard), hard))
        inst = self.instance(mux)
        try:
            res["startup_ms"] = inst.start()
            inst.run("clear")
            # Time spent opening tabs only: for N = 1,000 after N = 100, the 100-tab point's
            # settling and idle measurement (about 18 s) once counted as opening time too.
            opening = 0.0
            keys = b"".join(mux.new_tab_keys)
            for n in sorted(set(a.tabs)):
                t0 = time.perf_counter()
                want = n - inst.sessions
                for _ in range(want):
                    inst.term.write(keys)
                    inst.term.pump(0)
                inst.sessions = n
                end = time.perf_counter() + a.tabs_timeout
                while True:
                    have = len(inst.procs.shells())
                    if have >= n:
                        break
                    if time.perf_counter() > end or inst.term.eof:
                        # The points measured so far stay in the results.
                        res["error"] = f"only {have} of {n} tabs opened within {a.tabs_timeout:.0f} s"
                        res["stopped_at"] = have
                        self.log(f"  ERROR ({mux.name}, tabs): {res['error']}")
                        return res
                    inst.term.pump_for(0.2)
                opening += time.perf_counter() - t0
                opened = opening
                inst.settle(a.settle_max)
                settled_at = time.perf_counter()
                # Idle tabs, as for the empty sessions of the memory test (memmux parks them).
                inst.term.pump_for(a.park_wait)
                pids = inst.procs.mux()
                m = memory_of(pids)
                fds = sum(len(os.listdir(f"/proc/{p}/fd")) for p in pids
                          if os.path.isdir(f"/proc/{p}/fd"))
                threads = 0
                for p in pids:
                    t = re.search(r"^Threads:\s+(\d+)", slurp(f"/proc/{p}/status") or "", re.M)
                    threads += int(t.group(1)) if t else 0
                inst.term.pump_for(2.0)
                c0, n0 = cpu_ticks(pids), sched_ns(pids)
                w0 = time.perf_counter()
                inst.term.pump_for(a.idle_seconds)
                c1, n1 = cpu_ticks(pids), sched_ns(pids)
                secs = time.perf_counter() - w0
                pt = {"tabs": n, "open_s": opened, "rss_kib": m["rss_kib"], "pss_kib": m["pss_kib"],
                      "fds": fds, "threads": threads,
                      "idle_cpu_s": ticks_delta_s(c0, c1) * 10 / secs,
                      "idle_sched_ms": sched_delta_ms(n0, n1) * 10 / secs}
                res["points"].append(pt)
                self.log(f"  {n} tabs: opened in {opened:.1f} s; RSS {pt['rss_kib']} KiB, "
                         f"{fds} fds, {threads} threads; idle {pt['idle_cpu_s']:.2f} s CPU "
                         f"({pt['idle_sched_ms']:.1f} ms on CPU) per 10 s, from "
                         f"{w0 - settled_at:.1f} s after they settled")
                if a.tabs_late > 0:
                    inst.term.pump_for(max(0.0, settled_at + a.tabs_late - time.perf_counter()))
                    c0, n0 = cpu_ticks(pids), sched_ns(pids)
                    w1 = time.perf_counter()
                    inst.term.pump_for(a.idle_seconds)
                    c1, n1 = cpu_ticks(pids), sched_ns(pids)
                    secs = time.perf_counter() - w1
                    pt["late_after_s"] = w1 - settled_at
                    pt["late_idle_cpu_s"] = ticks_delta_s(c0, c1) * 10 / secs
                    pt["late_idle_sched_ms"] = sched_delta_ms(n0, n1) * 10 / secs
                    self.log(f"  {n} tabs, {pt['late_after_s']:.0f} s after they settled: idle "
                             f"{pt['late_idle_cpu_s']:.2f} s CPU ({pt['late_idle_sched_ms']:.1f} ms "
                             f"on CPU) per 10 s")
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            inst.stop()
        return res

    def guarded(self, fn, mux, rep):
        try:
            return fn(mux, rep)
        except Timeout as e:
            if "time limit" in str(e):
                raise
            err = str(e)
        except BenchError as e:
            err = str(e)
        inst = self.instances[-1] if self.instances else None
        screen = inst.term.screen() if inst and inst.term and inst.term.tail else ""
        self.log(f"  ERROR ({mux.name}, {fn.__name__}): {err}")
        if screen:
            self.log("  last output, escapes stripped:\n" + screen[-1200:])
        return {"error": err, "screen": screen}

    def warmup(self):
        self.counting = False
        for mux in self.muxes:
            inst = self.instance(mux)
            try:
                ms = inst.start()
                self.log(f"warm-up start {mux.name}: {ms:.0f} ms (not counted)")
            except BenchError as e:
                self.log(f"warm-up start {mux.name} failed: {e}")
            finally:
                inst.stop()
        self.counting = True

    def run(self):
        a = self.a
        self.make_data()
        started = datetime.datetime.now().astimezone()
        runs = {m.name: {"perf": [], "mem": [], "flood": [], "tabs": []} for m in self.muxes}
        versions = {m.name: m.version() for m in self.muxes}
        self.log("multiplexers: " + ", ".join(f"{m.name} ({versions[m.name]})" for m in self.muxes))
        if a.warmup:
            self.warmup()
        want = set(a.tests)
        for rep in range(a.reps):
            # interleaved: every multiplexer sees the same drift in machine load
            for mux in self.muxes:
                if want & {"startup", "latency", "throughput"}:
                    self.log(f"rep {rep + 1}/{a.reps} {mux.name}: startup/latency/throughput")
                    runs[mux.name]["perf"].append(self.guarded(self.perf_run, mux, rep))
            for mux in self.muxes:
                if want & {"memory", "idle"} and mux.new_tab_keys:
                    self.log(f"rep {rep + 1}/{a.reps} {mux.name}: memory/idle CPU")
                    runs[mux.name]["mem"].append(self.guarded(self.mem_run, mux, rep))
            for mux in self.muxes:
                if "flood" in want and mux.name in a.flood_for:
                    self.log(f"rep {rep + 1}/{a.reps} {mux.name}: keystrokes while another tab floods")
                    runs[mux.name]["flood"].append(self.guarded(self.flood_run, mux, rep))
            for mux in self.muxes:
                # One rep: opening a thousand tabs takes a while, and its figures move little.
                if "tabs" in want and mux.name in a.tabs_for and rep == 0:
                    self.log(f"{mux.name}: many tabs ({', '.join(map(str, a.tabs))})")
                    runs[mux.name]["tabs"].append(self.guarded(self.tabs_run, mux, rep))
        finished = datetime.datetime.now().astimezone()
        summary = {name: self.summarize(r, self.startups.get(name, [])) for name, r in runs.items()}
        targets = self.targets(summary)
        out = {
            "meta": {
                "started": started.isoformat(timespec="seconds"),
                "finished": finished.isoformat(timespec="seconds"),
                "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
                "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
                         "python": platform.python_version(), "cpu": self.cpu_model(),
                         "loadavg_end": os.getloadavg()},
                "outer": f"{a.cols}x{a.rows}",
                "muxes": {m.name: {"binary": m.binary, "version": versions[m.name],
                                   "scrollback": m.scrollback_note} for m in self.muxes},
                "skipped": self.skipped,
                "params": {k: v for k, v in vars(a).items()},
            },
            "summary": summary, "targets": targets, "runs": runs,
        }
        self.report(summary, targets, out["meta"])
        if a.json:
            with open(a.json, "w") as f:
                json.dump(out, f, indent=1, default=str)
            self.log(f"wrote {a.json}")
        return out

    @staticmethod
    def cpu_model():
        m = re.search(r"^model name\s*:\s*(.*)$", slurp("/proc/cpuinfo") or "", re.M)
        return m.group(1) if m else None

    # summary ----------------------------------------------------------------
    def summarize(self, runs, startups):
        a = self.a
        vals = {}

        def add(k, v):
            if v is not None:
                vals.setdefault(k, []).append(v)

        perf = [r for r in runs["perf"] if "error" not in r]
        mem = [r for r in runs["mem"] if "error" not in r]
        flood = [r for r in runs["flood"] if "error" not in r]
        tabs = [r for r in runs.get("tabs", []) if "points" in r]
        for v in startups:                   # every instance of every test
            add("startup_ms", v)
        for r in perf:
            if "latency" in r:
                add("lat_median_ms", r["latency"]["median_ms"])
                add("lat_p90_ms", r["latency"]["p90_ms"])
                add("lat_timeouts", r["latency"]["timeouts"])
            for kind in ("plain", "sgr", "utf8"):
                if f"tp_{kind}" in r:
                    t = r[f"tp_{kind}"]
                    add(f"tp_{kind}_mb_s", t["mb_s"])
                    add(f"tp_{kind}_mux_cpu_s", t["mux_cpu_s"])
                    if t["mux_cpu_s"] > 0:
                        add(f"tp_{kind}_mb_per_cpu_s", t["file_bytes"] / 1e6 / t["mux_cpu_s"])
                    add(f"tp_{kind}_drawn_mb", t["drawn_bytes"] / 1e6)
                    add(f"tp_{kind}_shell_done_s", t["shell_done_s"])
        for r in mem:
            d = {s["label"]: s for s in r["samples"]}
            for lab, s in d.items():
                key = "empty" if "+empty" in lab else lab
                add(f"rss_{key}_kib", s["rss_kib"])
                add(f"pss_{key}_kib", s["pss_kib"])
            for k in ("rss", "pss"):
                full = sorted((s["sessions"], s[f"{k}_kib"]) for lab, s in d.items()
                              if lab.startswith("full") and "+" not in lab)
                per_full = slope(full)
                emp = [s for lab, s in d.items() if "+empty" in lab]
                per_empty = None
                if emp and "idle1" in d:
                    per_empty = (emp[0][f"{k}_kib"] - d["idle1"][f"{k}_kib"]) / a.empty_sessions
                add(f"{k}_kib_per_full_session", per_full)
                add(f"{k}_kib_per_empty_session", per_empty)
                if per_full is not None and per_empty is not None:
                    add(f"{k}_bytes_per_line", (per_full - per_empty) * 1024 / a.scrollback)
                if "idle1" in d and "full1" in d:
                    add(f"{k}_bytes_per_line_first_fill",
                        (d["full1"][f"{k}_kib"] - d["idle1"][f"{k}_kib"]) * 1024 / a.scrollback)
            if "idle" in r:
                add("idle_cpu_s", r["idle"]["cpu_s_per_10s"])
                add("idle_sched_ms", r["idle"]["sched_ms"] * 10 / r["idle"]["seconds"])
                add("idle_drawn_bytes", r["idle"]["drawn_bytes"] * 10 / r["idle"]["seconds"])
            add("fill_s", median(r["fill_s"]))
        for r in flood:
            add("flood_quiet_median_ms", r["quiet_lat"]["median_ms"])
            add("flood_median_ms", r["flood_lat"]["median_ms"])
            add("flood_p90_ms", r["flood_lat"]["p90_ms"])
            add("flood_delta_ms", r["delta_ms"])
            add("flood_timeouts", r["flood_lat"]["timeouts"] + r["quiet_lat"]["timeouts"])
        for r in tabs:
            for pt in r["points"]:
                for k in ("open_s", "rss_kib", "fds", "threads", "idle_cpu_s", "idle_sched_ms",
                          "late_idle_cpu_s", "late_idle_sched_ms"):
                    add(f"tabs{pt['tabs']}_{k}", pt.get(k))
        errors = [r["error"] for k in ("perf", "mem", "flood", "tabs") for r in runs.get(k, [])
                  if "error" in r]
        for r in tabs:
            if "stopped_at" in r:
                add("tabs_stopped_at", r["stopped_at"])
        return {"median": {k: median(v) for k, v in vals.items()},
                "min": {k: min(v) for k, v in vals.items()},
                "max": {k: max(v) for k, v in vals.items()},
                "n": {k: len(v) for k, v in vals.items()},
                "values": vals, "errors": errors}

    def targets(self, summary):
        mm = summary.get("memmux", {}).get("median", {})
        peers = {n: s["median"] for n, s in summary.items() if n in PEERS}
        none = summary.get("none", {}).get("median", {})
        out = []

        def rel(name, key, better, factor, text, limit_peers=None):
            v = mm.get(key)
            cand = {n: p.get(key) for n, p in peers.items()
                    if p.get(key) is not None and (limit_peers is None or n in limit_peers)}
            if v is None or not cand:
                out.append({"target": text, "result": "n/a", "why": "no memmux figure" if v is None
                            else "no peer figure"})
                return
            best = max(cand, key=cand.get) if better == "higher" else min(cand, key=cand.get)
            ratio = v / cand[best] if cand[best] else float("inf")
            ok = ratio >= factor if better == "higher" else ratio <= factor
            out.append({"target": text, "result": "PASS" if ok else "FAIL", "ratio": ratio,
                        "memmux": v, "peer": best, "peer_value": cand[best], "needed": factor})

        def absolute(key, limit, text, unit, exact_zero=False):
            v = mm.get(key)
            if v is None:
                out.append({"target": text, "result": "n/a", "why": "no memmux figure"})
                return
            ok = round(v, 2) == 0 if exact_zero else v <= limit
            out.append({"target": text, "result": "PASS" if ok else "FAIL", "memmux": v,
                        "limit": limit, "unit": unit,
                        "ratio": (v / limit) if limit else None})

        rel("plain throughput", "tp_plain_mb_s", "higher", 1.2, "plain throughput >= 1.2x best peer")
        rel("sgr throughput", "tp_sgr_mb_s", "higher", 1.2, "SGR throughput >= 1.2x best peer")
        rel("utf8 throughput", "tp_utf8_mb_s", "higher", 1.2,
            "UTF-8 (CJK) throughput >= 1.2x best peer")
        v, base = mm.get("tp_utf8_mb_s"), none.get("tp_utf8_mb_s")
        if v is not None and base:
            out.append({"target": "UTF-8 (CJK) throughput >= 0.6x no multiplexer",
                        "result": "PASS" if v / base >= 0.6 else "FAIL", "ratio": v / base,
                        "memmux": v, "peer": "none", "peer_value": base, "needed": 0.6})
        else:
            out.append({"target": "UTF-8 (CJK) throughput >= 0.6x no multiplexer", "result": "n/a",
                        "why": "no memmux or no-multiplexer figure"})
        rel("latency", "lat_median_ms", "lower", 1.0, "keystroke latency median <= tmux's",
            limit_peers={"tmux"})
        rel("startup", "startup_ms", "lower", 1.0, "startup <= fastest peer")
        absolute("rss_bytes_per_line", 128, "RSS per scrollback line <= 128 bytes", "bytes")
        absolute("rss_kib_per_empty_session", 400,
                 f"RSS per extra empty {self.a.cols}x{self.a.rows} session <= 400 KiB", "KiB")
        absolute("rss_idle1_kib", 7000, "idle RSS with one session <= 7,000 KiB", "KiB")
        absolute("idle_cpu_s", 0.0, f"idle CPU 0.00 s over 10 s, {self.a.idle_sessions} sessions, "
                 f"panel {self.a.memmux_panel}", "s", exact_zero=True)
        absolute("flood_delta_ms", 1.0, "flooding tab slows keystroke echo in another tab "
                 "by <= 1 ms (median)", "ms")
        if 1000 in self.a.tabs:
            absolute("tabs1000_open_s", 10.0, "1,000 tabs open in < 10 s", "s")
            absolute("tabs1000_rss_kib", 100 * 1024, "RSS with 1,000 idle tabs < 100 MiB", "KiB")
            absolute("tabs1000_threads", 16, "threads with 1,000 tabs <= 16", "")
            # memmux's own, whatever the tabs: 256 cached /proc/PID/statm files of the memory
            # sampler and 64 more.
            absolute("tabs1000_fds", 3 * 1000 + 320, "descriptors with 1,000 tabs <= 3 per tab "
                     "(+ 320 of its own)", "")
            absolute("tabs1000_idle_cpu_s", 0.0, "idle CPU with 1,000 tabs 0.00 s per 10 s", "s",
                     exact_zero=True)
            if self.a.tabs_late > 0:
                absolute("tabs1000_late_idle_cpu_s", 0.0, "idle CPU with 1,000 tabs 0.00 s per "
                         f"10 s, {self.a.tabs_late:.0f} s after they settled", "s", exact_zero=True)
        return out

    def report(self, summary, targets, meta):
        names = list(summary)
        peers = [n for n in names if n != "memmux"]
        rows = [
            ("throughput plain", "tp_plain_mb_s", "MB/s", "higher", 1),
            ("throughput SGR", "tp_sgr_mb_s", "MB/s", "higher", 1),
            ("throughput UTF-8 (CJK)", "tp_utf8_mb_s", "MB/s", "higher", 1),
            ("  mux CPU, plain", "tp_plain_mux_cpu_s", "s", "lower", 2),
            ("  mux CPU, SGR", "tp_sgr_mux_cpu_s", "s", "lower", 2),
            ("  mux CPU, UTF-8", "tp_utf8_mux_cpu_s", "s", "lower", 2),
            ("  MB per mux CPU second, plain", "tp_plain_mb_per_cpu_s", "MB/s", "higher", 1),
            ("  MB per mux CPU second, SGR", "tp_sgr_mb_per_cpu_s", "MB/s", "higher", 1),
            ("  MB per mux CPU second, UTF-8", "tp_utf8_mb_per_cpu_s", "MB/s", "higher", 1),
            ("  bytes drawn, plain", "tp_plain_drawn_mb", "MB", "lower", 1),
            ("  bytes drawn, SGR", "tp_sgr_drawn_mb", "MB", "lower", 1),
            ("  bytes drawn, UTF-8", "tp_utf8_drawn_mb", "MB", "lower", 1),
            ("keystroke echo median", "lat_median_ms", "ms", "lower", 2),
            ("keystroke echo p90", "lat_p90_ms", "ms", "lower", 2),
            ("startup", "startup_ms", "ms", "lower", 1),
            ("RSS idle, 1 session", "rss_idle1_kib", "KiB", "lower", 0),
            ("PSS idle, 1 session", "pss_idle1_kib", "KiB", "lower", 0),
        ]
        for n in sorted(set(self.a.sessions)):
            rows.append((f"RSS {n} full session(s)", f"rss_full{n}_kib", "KiB", "lower", 0))
            rows.append((f"PSS {n} full session(s)", f"pss_full{n}_kib", "KiB", "lower", 0))
        rows += [
            (f"RSS 1 idle + {self.a.empty_sessions} empty sessions", "rss_empty_kib", "KiB", "lower", 0),
            ("RSS per scrollback line", "rss_bytes_per_line", "B", "lower", 1),
            ("PSS per scrollback line", "pss_bytes_per_line", "B", "lower", 1),
            ("RSS per full session", "rss_kib_per_full_session", "KiB", "lower", 0),
            ("RSS per extra empty session", "rss_kib_per_empty_session", "KiB", "lower", 0),
            ("PSS per extra empty session", "pss_kib_per_empty_session", "KiB", "lower", 0),
            (f"idle CPU per 10 s ({self.a.idle_sessions} sess.)", "idle_cpu_s", "s", "lower", 2),
            ("  on-CPU time while idle /10 s", "idle_sched_ms", "ms", "lower", 2),
            ("  bytes drawn while idle /10 s", "idle_drawn_bytes", "B", "lower", 0),
            ("echo median, other tab idle", "flood_quiet_median_ms", "ms", "lower", 2),
            ("echo median, other tab floods", "flood_median_ms", "ms", "lower", 2),
            ("echo p90, other tab floods", "flood_p90_ms", "ms", "lower", 2),
            ("slowdown by the flood", "flood_delta_ms", "ms", "lower", 2),
        ]
        for n in sorted(set(getattr(self.a, "tabs", []))):
            rows += [
                (f"{n} tabs: time to open", f"tabs{n}_open_s", "s", "lower", 2),
                (f"{n} tabs: RSS", f"tabs{n}_rss_kib", "KiB", "lower", 0),
                (f"{n} tabs: descriptors", f"tabs{n}_fds", "", "lower", 0),
                (f"{n} tabs: threads", f"tabs{n}_threads", "", "lower", 0),
                (f"{n} tabs: idle CPU /10 s", f"tabs{n}_idle_cpu_s", "s", "lower", 2),
                (f"{n} tabs: on-CPU while idle /10 s", f"tabs{n}_idle_sched_ms", "ms", "lower", 1),
                (f"{n} tabs: idle CPU /10 s, {self.a.tabs_late:.0f} s on", f"tabs{n}_late_idle_cpu_s",
                 "s", "lower", 2),
                (f"{n} tabs: on-CPU /10 s, {self.a.tabs_late:.0f} s on", f"tabs{n}_late_idle_sched_ms",
                 "ms", "lower", 1),
            ]
        w0 = 34
        head = f"{'figure':{w0}} {'unit':5} {'better':6} " + " ".join(f"{n:>10}" for n in names)
        head += "".join(f" {'mm/' + p[:7]:>10}" for p in peers)
        lines = [head, "-" * len(head)]
        for label, key, unit, better, dec in rows:
            vs = [summary[n]["median"].get(key) for n in names]
            if all(v is None for v in vs):
                continue
            cells = " ".join(f"{v:10.{dec}f}" if v is not None else f"{'-':>10}" for v in vs)
            mmv = summary.get("memmux", {}).get("median", {}).get(key)
            ratios = ""
            for p in peers:
                pv = summary[p]["median"].get(key)
                if mmv is None or pv is None or pv == 0:
                    ratios += f" {'-':>10}"
                else:
                    ratios += f" {mmv / pv:10.2f}"
            lines.append(f"{label:{w0}} {unit:5} {better:6} {cells}{ratios}")
        print()
        print(f"=== medians over {self.a.reps} rep(s), outer pty {self.a.cols}x{self.a.rows}, "
              f"{meta['started']} ===")
        print("mm/peer = memmux / peer: above 1 is better where 'better' is higher, "
              "below 1 is better where it is lower")
        print("\n".join(lines))
        ns = {n: summary[n]["n"] for n in names}
        spread = []
        for label, key, unit, better, dec in rows[:15]:
            parts = [f"{n} {summary[n]['min'][key]:.{dec}f}..{summary[n]['max'][key]:.{dec}f} "
                     f"(n={ns[n][key]})" for n in names if key in summary[n]["min"]]
            if parts:
                spread.append(f"  {label.strip():24} " + "; ".join(parts))
        if spread:
            print("\nrange over reps (min..max):")
            print("\n".join(spread))
        for n in names:
            for e in summary[n]["errors"]:
                print(f"ERROR {n}: {e}")
            for k in ("lat_timeouts", "flood_timeouts"):
                t = summary[n]["values"].get(k)
                if t and sum(t):
                    print(f"NOTE {n}: {sum(t)} key echo(es) timed out (> 2 s) in {k[:-9]} tests")
        for n, why in self.skipped.items():
            print(f"skipped {n}: {why}")
        print("\ntargets (memmux):")
        for t in targets:
            if t["result"] == "n/a":
                print(f"  n/a   {t['target']}: {t['why']}")
            elif "peer" in t:
                print(f"  {t['result']}  {t['target']}: memmux/{t['peer']} = {t['ratio']:.2f} "
                      f"(need {'>=' if 'throughput' in t['target'] else '<='} {t['needed']:.2f}; "
                      f"{t['memmux']:.2f} vs {t['peer_value']:.2f})")
            else:
                lim = f"{t['limit']:g}"
                rat = f", {t['ratio']:.2f}x the limit" if t.get("ratio") is not None else ""
                print(f"  {t['result']}  {t['target']}: {t['memmux']:.2f} {t['unit']} "
                      f"(limit {lim}{rat})")

    # cleanup --------------------------------------------------------------
    def cleanup(self):
        for inst in self.instances:
            if inst.term is not None and inst.term.master is not None:
                try:
                    inst.stop()
                except Exception as e:  # noqa: BLE001 - best effort
                    print(f"cleanup: {e}", file=sys.stderr)
        mark = f"MXB_TAG={self.run_id}-".encode()
        me = os.getpid()
        for d in os.listdir("/proc"):
            if d.isdigit() and int(d) != me and mark in (slurp(f"/proc/{d}/environ", True) or b""):
                try:
                    os.kill(int(d), signal.SIGKILL)
                except OSError:
                    pass
        for p in list(self.spawned):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)
        reap_all()
        if not self.a.keep:
            shutil.rmtree(self.rundir, ignore_errors=True)


def become_subreaper():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0      # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    csv = lambda s: [x for x in s.split(",") if x]                      # noqa: E731
    p.add_argument("--only", type=csv,
                   default=["memmux", "memmux-base", "tmux", "zellij", "mprocs", "none"],
                   help="multiplexers to run, comma separated (default: all that are installed; "
                   "memmux-base only with --memmux-base; none = no multiplexer)")
    p.add_argument("--tests", type=csv, default=["startup", "latency", "throughput", "memory",
                                                 "idle", "flood", "tabs"],
                   help="startup,latency,throughput,memory,idle,flood,tabs (default: all)")
    p.add_argument("--reps", type=int, default=3, help="fresh instances per test (medians reported)")
    p.add_argument("--warmup", type=int, default=1, help="1: start and stop each multiplexer once first")
    p.add_argument("--memmux", default=os.path.join(REPO, "target", "release", "memmux"),
                   help="memmux binary (default: target/release/memmux of this repository)")
    p.add_argument("--memmux-base", help="a second memmux binary measured beside --memmux in "
                   "the same run (column memmux-base), e.g. the build before a change")
    p.add_argument("--memmux-panel", default="always", choices=["always", "never", "auto"],
                   help="memmux [memory-panel] show (default always)")
    p.add_argument("--tools-dir", action="append",
                   default=["/tmp/memmux-bench-tools", "/tmp/mprocs-install", "~/.cargo"],
                   help="extra install roots searched (ROOT/bin) for zellij and mprocs")
    p.add_argument("--json", help="write every figure and raw sample to this file")
    p.add_argument("--rows", type=int, default=50)
    p.add_argument("--cols", type=int, default=200)
    p.add_argument("--tp-mb", type=int, default=50, help="size of each throughput file (MB)")
    p.add_argument("--tp-timeout", type=float, default=300)
    p.add_argument("--fill-lines", type=int, default=100000)
    p.add_argument("--scrollback", type=int, default=10000)
    p.add_argument("--sessions", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 16])
    p.add_argument("--empty-sessions", type=int, default=8)
    p.add_argument("--idle-sessions", type=int, default=4)
    p.add_argument("--idle-seconds", type=float, default=10)
    p.add_argument("--keys", type=int, default=200, help="keystrokes per latency test")
    p.add_argument("--flood-keys", type=int, default=200, help="keystrokes per half of the flood test")
    p.add_argument("--flood", default="yes", help="flooding command (default `yes`; e.g. "
                   "'cat /dev/urandom | base64')")
    p.add_argument("--park-wait", type=float, default=4.0,
                   help="seconds the empty sessions stay quiet before their RSS is sampled "
                   "(memmux parks a hidden tab after 2 s without output)")
    p.add_argument("--flood-for", type=csv, default=["memmux", "memmux-base", "tmux"])
    p.add_argument("--tabs", type=lambda s: [int(x) for x in s.split(",")], default=[100, 1000],
                   help="tab counts of the many-tabs test, opened in turn in one instance")
    p.add_argument("--tabs-for", type=csv, default=["memmux", "memmux-base", "tmux"])
    p.add_argument("--tabs-nofile", type=int, default=1024,
                   help="soft descriptor limit the many-tabs test starts the multiplexer with")
    p.add_argument("--tabs-late", type=float, default=60,
                   help="seconds after the tabs settled at which the many-tabs test measures its "
                   "second idle window (0: none)")
    p.add_argument("--tabs-timeout", type=float, default=180,
                   help="seconds allowed for each step of the many-tabs test")
    p.add_argument("--pause-ms", type=lambda s: [float(x) for x in s.split(",")], default=[20, 60])
    p.add_argument("--settle-max", type=float, default=10)
    p.add_argument("--startup-timeout", type=float, default=30)
    p.add_argument("--quiet-below", type=float, default=0.25,
                   help="before each run wait until the machine uses less than this share of its CPUs")
    p.add_argument("--quiet-wait", type=float, default=60, help="...but at most this many seconds")
    p.add_argument("--max-minutes", type=float, default=120)
    p.add_argument("--workdir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "memmux-bench"))
    p.add_argument("--keep", action="store_true", help="keep the run directory")
    p.add_argument("--show", metavar="JSON",
                   help="print the table and targets of a run saved with --json, measure nothing")
    a = p.parse_args(argv)
    bad = [x for x in a.only if x not in MUXES]
    if bad:
        p.error(f"unknown multiplexer(s) {bad}; known: {', '.join(MUXES)}")
    bad = [x for x in a.tests if x not in ("startup", "latency", "throughput", "memory", "idle",
                                           "flood", "tabs")]
    if bad:
        p.error(f"unknown test(s) {bad}")
    return a


def show(path):
    """Reprint a saved run: its own parameters, medians and targets, as the run printed them."""
    with open(path) as f:
        out = json.load(f)
    meta = out["meta"]
    b = Bench.__new__(Bench)          # report() needs only the run's parameters and skips
    b.a = argparse.Namespace(**meta["params"])
    b.skipped = meta.get("skipped", {})
    print(f"{path}: {meta['command']}")
    print(f"started {meta['started']}, finished {meta['finished']}; "
          + "; ".join(f"{n} {m['version']}" for n, m in meta["muxes"].items()))
    b.report(out["summary"], out["targets"], meta)
    return 0


def main(argv=None):
    a = parse_args(argv)
    if a.show:
        return show(a.show)

    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if not become_subreaper():
        print("warning: not a child subreaper; daemonised servers are found by their "
              "environment tag only", file=sys.stderr)
    try:
        b = Bench(a)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        b.run()
    except KeyboardInterrupt as e:
        print(f"\ninterrupted ({e}); stopping everything this run started", file=sys.stderr)
        return 130
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        b.cleanup()
    return 0


def attach_times(argv=None):
    """`compare.py attach-times [--memmux PATH] [--reps N]`: time from `attach` to a drawn
    screen, memmux vs tmux (issue 17). A detached session prints a marker and waits; each rep
    starts a client in a fresh outer pty, times until the marker shows, reads the attached
    client's own memory (VmRSS and PSS of the `attach` process alone: the client the user's
    terminal runs, not the server), then detaches (prefix d) and waits for the client to
    exit."""
    p = argparse.ArgumentParser(prog="compare.py attach-times")
    p.add_argument("--memmux", default=os.path.join(REPO, "target", "release", "memmux"))
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--rows", type=int, default=50)
    p.add_argument("--cols", type=int, default=200)
    a = p.parse_args(argv)
    import tempfile
    marker = b"QZXATTACHEDQZX"
    shown = "printf '" + "".join(f"\\{c:03o}" for c in marker) + "\\n'; exec sleep 100000"
    root = tempfile.mkdtemp(prefix="memmux-attach-")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": root, "TERM": "xterm-256color",
           "LANG": "C.UTF-8", "XDG_RUNTIME_DIR": root, "TMUX_TMPDIR": root,
           "XDG_DATA_HOME": os.path.join(root, "data"), "XDG_CONFIG_HOME": os.path.join(root, "c")}
    tmux = shutil.which("tmux")
    muxes = {
        "memmux": ([a.memmux, "new", "-d", "-s", "b", "--", "sh", "-c", shown],
                   [a.memmux, "attach", "-t", "b"], [a.memmux, "kill-server"]),
    }
    if tmux:
        muxes["tmux"] = ([tmux, "-L", "att", "-f", "/dev/null", "new-session", "-d", "-s", "b",
                          "-x", str(a.cols), "-y", str(a.rows), "sh", "-c", shown],
                         [tmux, "-L", "att", "-f", "/dev/null", "attach", "-t", "b"],
                         [tmux, "-L", "att", "kill-server"])
    results = {}

    def client_kib(pid):
        rss = pss = None
        for line in (slurp(f"/proc/{pid}/status") or "").splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        for line in (slurp(f"/proc/{pid}/smaps_rollup") or "").splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
        return rss, pss

    try:
        for name, (start, attach, stop) in muxes.items():
            subprocess.run(start, env=env, cwd=root, check=True, stdin=subprocess.DEVNULL)
            times, rsss, psss = [], [], []
            for _ in range(a.reps):
                term = Term(a.rows, a.cols, time.monotonic() + 120)
                watch = MarkerWatch(term, marker, from_start=True)
                term.watch = watch
                t0 = time.perf_counter()
                proc = term.spawn(attach, env, root)
                t1 = term.wait(watch, 15.0, f"{name}'s attached screen")
                times.append((t1 - t0) * 1000)
                term.pump_for(0.1)
                rss, pss = client_kib(proc.pid)
                if rss is not None and pss is not None:
                    rsss.append(rss)
                    psss.append(pss)
                term.write(b"\x02")
                term.pump_for(0.1)
                term.write(b"d")
                proc.wait(timeout=10)
                term.close()
            subprocess.run(stop, env=env, cwd=root, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.sort()
            results[name] = times
            print(f"{name:7} attach to drawn screen: median {median(times):.1f} ms, "
                  f"p90 {pct(times, 0.9):.1f} ms ({len(times)} attaches)", flush=True)
            if rsss:
                print(f"{name:7} attached client's own memory: VmRSS median {median(rsss):.0f} "
                      f"KiB, PSS median {median(psss):.0f} KiB", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def startup_times(argv=None):
    """`compare.py startup-times [--reps N] [--only memmux,tmux] [--memmux-base PATH] ...`:
    startup alone, the multiplexers interleaved round by round (memmux, tmux, memmux, ...) so
    that each pair sees the same machine. Each start is the main run's: a fresh instance
    (memmux: its own XDG_RUNTIME_DIR, so no server runs yet; tmux: its own -L socket) in a
    fresh outer pty, timed from spawn to the first shell's startup marker visible on the
    screen, then stopped (kill-server) before the next. Prints median and range per
    multiplexer. Takes the main run's options (--memmux, --rows, --cols, --quiet-below ...);
    --quiet-wait defaults to 5 s here (a round waits at most that long for a quiet machine)."""
    argv = list(argv or [])
    if not any(x == "--quiet-wait" or x.startswith("--quiet-wait=") for x in argv):
        argv += ["--quiet-wait", "5"]
    if not any(x == "--only" or x.startswith("--only=") for x in argv):
        argv += ["--only", "memmux,memmux-base,tmux"]
    if not any(x == "--reps" or x.startswith("--reps=") for x in argv):
        argv += ["--reps", "20"]
    a = parse_args(argv + ["--tests", "startup"])
    become_subreaper()
    try:
        b = Bench(a)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    times = {m.name: [] for m in b.muxes}
    try:
        for m in b.muxes:
            print(f"{m.name}: {m.version()}", flush=True)
        for rep in range(a.reps):
            b.quiet_machine()
            # The order turns each round: none always starts first, on a machine just idle.
            k = rep % len(b.muxes)
            for m in b.muxes[k:] + b.muxes[:k]:
                inst = b.instance(m)
                try:
                    times[m.name].append(inst.start())
                finally:
                    inst.stop()
            print(f"round {rep + 1}/{a.reps}: "
                  + ", ".join(f"{n} {v[-1]:.1f} ms" for n, v in times.items() if v), flush=True)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        b.cleanup()
    for name, v in times.items():
        if v:
            v = sorted(v)
            print(f"{name:12} startup to first prompt: median {median(v):.1f} ms, "
                  f"range {v[0]:.1f}-{v[-1]:.1f} ms ({len(v)} starts)", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"startup_ms": times, "params": vars(a)}, f, indent=1, default=str)
    return 0


def split_pane(inst, keys):
    """Splits the focused pane with `keys` (tmux and memmux: prefix % or prefix "), waits
    for the new pane's shell and its startup marker."""
    watch = MarkerWatch(inst.term, inst.ready)
    inst.term.watch = watch
    for k in keys:
        inst.term.write(k)
        inst.term.pump_for(0.15)
    inst.sessions += 1
    inst.wait_shells(inst.sessions)
    inst.term.wait(watch, 15.0, f"startup marker of pane {inst.sessions}")
    inst.term.pump_for(0.2)


SPLIT_RIGHT, SPLIT_DOWN = [b"\x02", b"%"], [b"\x02", b'"']


def flood_pair(b, inst, a, go, rep, res, where):
    """Echo latency with the flooder (told to start by the file `go`) waiting, then while it
    floods, with the multiplexer's and the flooder's CPU shares; fills `res` and returns the
    two medians (ms)."""
    res["quiet_lat"] = b.latency(inst, a.flood_keys, seed=1000 + rep)
    with open(go, "w"):
        pass
    end = time.perf_counter() + 10
    flooders = []
    while not flooders:
        if time.perf_counter() > end:
            raise Timeout(f"the flood command did not start in {where}")
        inst.term.pump(0.1)
        m = inst.procs.scan()
        flooders = [p for p, i in m.items() if i["inner"] and i["comm"] not in SHELLS
                    and i["comm"] != "sleep"]
    inst.term.pump_for(1.0)
    pids = inst.procs.mux()
    c0, f0 = cpu_ticks(pids), cpu_ticks(flooders)
    t0 = time.perf_counter()
    res["flood_lat"] = b.latency(inst, a.flood_keys, seed=2000 + rep)
    secs = time.perf_counter() - t0
    c1, f1 = cpu_ticks(pids), cpu_ticks(flooders)
    res["mux_cpu_share"] = ticks_delta_s(c0, c1) / secs
    res["flooder_cpu_share"] = ticks_delta_s(f0, f1) / secs
    q, f = res["quiet_lat"]["median_ms"], res["flood_lat"]["median_ms"]
    res["delta_ms"] = f - q if f is not None and q is not None else None
    return q, f


def pane_flood_run(b, mux, rep):
    """Keystroke latency in pane 4 of a 4-pane tab (pane 1 left, panes 2-4 stacked on the
    right), first with pane 1 idle, then while pane 1 runs the flood command (started by
    a file trigger, so the focus never moves)."""
    a = b.a
    res = {"quiet": b.quiet_machine(), "flood_cmd": a.flood}
    inst = b.instance(mux)
    go = os.path.join(b.rundir, f"go-{inst.n}")
    try:
        inst.start()
        inst.run("clear")
        inst.term.write(f"clear; while [ ! -e {go} ]; do sleep 0.3; done; {a.flood}\r".encode())
        inst.term.pump_for(0.5)
        for keys in (SPLIT_RIGHT, SPLIT_DOWN, SPLIT_DOWN):
            split_pane(inst, keys)
        inst.run("clear")
        inst.settle(5)
        q, f = flood_pair(b, inst, a, go, rep, res, "pane 1")
        b.log(f"  pane flood: median {q:.3f} ms quiet -> {f:.3f} ms flooding "
              f"(+{res['delta_ms']:.3f} ms; {res['flood_lat']['timeouts']} timeouts; "
              f"mux {res['mux_cpu_share']:.0%} of a core, flooder {res['flooder_cpu_share']:.0%})")
    finally:
        inst.stop()
    return res


def pane_memory_run(b, mux, rep):
    """RSS of the multiplexer's own processes (never the shells) with 1 idle pane, with 3
    more idle tabs (hidden, so memmux parks them), then with the last tab split into 4 idle
    panes (shown): an extra tab's and an extra pane's cost, as a user gets them. Each figure
    after --park-wait quiet seconds (memmux parks hidden tabs after 2 s without output)."""
    a = b.a
    res = {"quiet": b.quiet_machine()}
    inst = b.instance(mux)
    try:
        inst.start()
        inst.run("clear")

        def sample(what):
            inst.settle(a.settle_max)
            inst.term.pump_for(a.park_wait)
            res[what] = memory_of(inst.procs.mux())["rss_kib"]

        sample("one_pane_kib")
        for _ in range(3):
            inst.new_tab()
        sample("four_tabs_kib")
        for keys in (SPLIT_RIGHT, SPLIT_DOWN, SPLIT_DOWN):
            split_pane(inst, keys)
        sample("four_panes_kib")
        res["per_tab_kib"] = (res["four_tabs_kib"] - res["one_pane_kib"]) / 3
        res["per_pane_kib"] = (res["four_panes_kib"] - res["four_tabs_kib"]) / 3
        b.log(f"  pane memory: RSS {res['one_pane_kib']} KiB with 1 pane, "
              f"{res['four_tabs_kib']} with 3 more tabs, {res['four_panes_kib']} with the last "
              f"split in 4: {res['per_tab_kib']:.0f} KiB a tab, {res['per_pane_kib']:.0f} KiB a pane")
    finally:
        inst.stop()
    return res


def panes_bench(argv=None):
    """`compare.py panes [--reps N] [--memmux PATH] [--flood-keys N] [--tests flood,memory]
    ...` (any option of the main run): split panes against tmux (issue 19). A 4-pane tab whose pane 1 floods
    (`--flood`) while keys are typed in pane 4, against the same tab idle; and the RSS an
    extra idle pane adds against an extra idle tab. Interleaved reps; medians printed."""
    a = parse_args(["--only", "memmux,tmux"] + list(argv or []))
    become_subreaper()
    b = Bench(a)
    runs = {m.name: {"flood": [], "mem": []} for m in b.muxes}
    try:
        for rep in range(a.reps):
            for mux in b.muxes:
                if "flood" not in a.tests:
                    break
                b.log(f"rep {rep + 1}/{a.reps} {mux.name}: keys in pane 4 while pane 1 floods")
                runs[mux.name]["flood"].append(b.guarded(lambda m, r: pane_flood_run(b, m, r),
                                                         mux, rep))
            for mux in b.muxes:
                if "memory" not in a.tests:
                    break
                b.log(f"rep {rep + 1}/{a.reps} {mux.name}: memory of an extra pane and tab")
                runs[mux.name]["mem"].append(b.guarded(lambda m, r: pane_memory_run(b, m, r),
                                                       mux, rep))
    finally:
        b.cleanup()
    rows = [("echo median, neighbour pane idle (ms)", "flood", lambda r: r["quiet_lat"]["median_ms"]),
            ("echo median, neighbour pane floods (ms)", "flood", lambda r: r["flood_lat"]["median_ms"]),
            ("echo p90, neighbour pane floods (ms)", "flood", lambda r: r["flood_lat"]["p90_ms"]),
            ("slowdown by the flood (ms)", "flood", lambda r: r["delta_ms"]),
            ("multiplexer CPU while flooding (cores)", "flood", lambda r: r["mux_cpu_share"]),
            ("RSS, 1 pane (KiB)", "mem", lambda r: r["one_pane_kib"]),
            ("RSS, 4 tabs (KiB)", "mem", lambda r: r["four_tabs_kib"]),
            ("RSS, 4 tabs, the last in 4 panes (KiB)", "mem", lambda r: r["four_panes_kib"]),
            ("RSS of an extra pane (KiB)", "mem", lambda r: r["per_pane_kib"]),
            ("RSS of an extra tab (KiB)", "mem", lambda r: r["per_tab_kib"])]
    names = [m.name for m in b.muxes]
    print(f"\n{'median of ' + str(a.reps) + ' reps':42}" + "".join(f"{n:>12}" for n in names))
    summary = {}
    for label, kind, get in rows:
        line = f"{label:42}"
        for n in names:
            vals = sorted(get(r) for r in runs[n][kind] if "error" not in r and get(r) is not None)
            v = median(vals) if vals else None
            summary.setdefault(n, {})[label] = v
            line += f"{v:>12.3f}" if v is not None else f"{'-':>12}"
        print(line)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": summary, "runs": runs}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["attach-times"]:
        sys.exit(attach_times(sys.argv[2:]))
    if sys.argv[1:2] == ["startup-times"]:
        sys.exit(startup_times(sys.argv[2:]))
    if sys.argv[1:2] == ["panes"]:
        sys.exit(panes_bench(sys.argv[2:]))
    sys.exit(main())
