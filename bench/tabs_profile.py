#!/usr/bin/env python3
"""tabs_profile.py BINARY N WINDOWS SECONDS: opens N tabs in memmux as compare.py's tabs part
does (the new-tab keys back to back, then until N shells run), prints memmux's on-CPU time
for the opening and the shells' own, then per-thread on-CPU time (schedstat) over WINDOWS
windows of SECONDS each, busiest threads first: which thread an idle memmux's CPU goes to.
PERF=FILE records memmux's processes with `perf` for PERF_SECONDS (20) s, PERF_DELAY (0) s
after the tabs settled, at PERF_FREQ (2000) Hz, before the windows. EARLY=1: the windows start as
soon as the N shells run (no settling first): where the young tabs' work ends."""
import collections
import os
import sys
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare as C

def threads(pids):
    out = {}
    for p in pids:
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                try:
                    st = open(f"/proc/{p}/task/{t}/stat").read()
                    comm = st[st.index("(")+1:st.rindex(")")]
                    sch = open(f"/proc/{p}/task/{t}/schedstat").read().split()
                    out[(p, int(t))] = (comm, int(sch[0]))
                except OSError:
                    pass
        except OSError:
            pass
    return out

def main():
    binary = sys.argv[1]; n = int(sys.argv[2]); windows = int(sys.argv[3]); secs = float(sys.argv[4])
    a = C.parse_args(["--only", "memmux", "--tests", "tabs", "--memmux", binary, "--tabs", str(n), "--warmup", "0"])
    C.become_subreaper()
    b = C.Bench(a)
    try:
        mux = [m for m in b.muxes if m.name == "memmux"][0]
        inst = b.instance(mux)
        inst.start(); inst.run("clear")
        pids0 = inst.procs.mux()
        sch0 = C.sched_ns(pids0)
        t0 = time.perf_counter()
        keys = b"".join(mux.new_tab_keys)
        for _ in range(n - 1):
            inst.term.write(keys); inst.term.pump(0)
        while len(inst.procs.shells()) < n:
            inst.term.pump_for(0.2)
        print(f"opened {n} in {time.perf_counter()-t0:.1f} s", flush=True)
        early = os.environ.get("EARLY") == "1"
        if early:
            windows_at(inst, inst.procs.mux(), windows, secs, time.perf_counter())
            return
        inst.settle(10)
        print("sched ms during open+settle:", C.sched_delta_ms(sch0, C.sched_ns(pids0)), flush=True)
        sh = inst.procs.shells()
        tot = 0
        for p in sh:
            try:
                tot += int(open(f"/proc/{p}/schedstat").read().split()[0])
            except OSError: pass
        print(f"shells: {len(sh)}, their on-CPU ms total {tot/1e6:.0f}, per shell {tot/1e6/max(1,len(sh)):.2f}", flush=True)
        inst.settle(10); inst.term.pump_for(6)
        pids = inst.procs.mux()
        if os.environ.get("PERF"):
            import subprocess
            inst.term.pump_for(float(os.environ.get("PERF_DELAY", "0")))
            record = ["perf", "record", "-g", "-F", os.environ.get("PERF_FREQ", "2000"), "-o", os.environ["PERF"],
                      "-p", ",".join(map(str, pids)), "--", "sleep", os.environ.get("PERF_SECONDS", "20")]
            subprocess.run(record, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        windows_at(inst, pids, windows, secs, None)
    finally:
        b.cleanup()

def windows_at(inst, pids, windows, secs, since):
    """WINDOWS windows of SECS each: per-thread on-CPU ms, busiest first; each labelled with
    its start in seconds after `since` (the moment the N shells ran) when given."""
    for w in range(windows):
        start = "" if since is None else f" (from {time.perf_counter()-since:.1f} s)"
        a0 = threads(pids); c0 = C.cpu_ticks(pids)
        inst.term.pump_for(secs)
        a1 = threads(pids); c1 = C.cpu_ticks(pids)
        per = collections.Counter()
        for k, (comm, ns) in a1.items():
            per[f"{k[0]}:{comm}"] += ns - a0.get(k, (comm, 0))[1]
        tot = sum(per.values())/1e6
        print(f"window {w}{start}: ticks {C.ticks_delta_s(c0,c1):.2f} s, sched {tot:.1f} ms; " +
              ", ".join(f"{k} {v/1e6:.1f}" for k, v in per.most_common(6) if v > 0), flush=True)

main()
