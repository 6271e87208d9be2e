#!/usr/bin/env python3
"""End-to-end benchmark: vncd against x0vncserver and x11vnc, in the same run, interleaved.

For each workload (drawn by e2e_workload on a private Xvfb 1920x1080x24) and each encoding, each
server is started with its default settings, measured by e2e_client (a libvncclient viewer) for a
fixed time, and stopped; servers take turns (vncd, x0vncserver, x11vnc, vncd, ...). Then a slow
client beside a fast one on the same server. Prints tables with vncd's ratios to each peer and to
the better peer; writes bench/results/e2e-<date>.csv, e2e-<date>-slow.csv and e2e-<date>.md (the
machine, package versions and the tables).

    python3 bench/e2e/run.py [BUILD_DIR]   (default: build; needs a -Dbench=true build)

Standard library only. Every process it starts runs in its own process group and is stopped at
the end of its run; every wait is bounded.
"""

import argparse
import csv
import datetime
import json
import os
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

WORKLOADS = ["static", "scroll", "photo", "small", "drag"]
WORKLOAD_LABELS = {
    "static": "(a) static desktop",
    "scroll": "(b) terminal scrolling text, 30 steps/s",
    "photo": "(c) full-screen photographic motion, 30 fps",
    "small": "(d) small changes (typing + clock), 10/s",
    "drag": "(e) 600x400 window dragged, 30 fps",
}
ENCODINGS = ["raw", "hextile", "zrle", "tight", "tight-jpeg"]
SERVERS = ["vncd", "x0vncserver", "x11vnc"]
PEERS = ["x0vncserver", "x11vnc"]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Metrics compared as ratios: (key, label, True when higher is better).
RATIO_METRICS = [
    ("steps_per_s", "steps shown/s", True),
    ("bytes_per_step", "bytes/step", False),
    ("cpu_ms_per_step", "CPU ms/step", False),
    ("cpu_pct", "CPU %", False),
    ("lat_p50_ms", "latency p50", False),
    ("lat_p95_ms", "latency p95", False),
    ("rss_kb", "peak RSS", False),
]


class Failure(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Proc:
    """A child in its own process group; stop() ends that group (only what we started)."""

    def __init__(self, name, argv, logdir, stdout=None, pass_fds=(), env=None):
        self.name = name
        self.log_path = os.path.join(logdir, name + ".log")
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            argv, stdout=stdout if stdout is not None else self._log, stderr=self._log,
            stdin=subprocess.DEVNULL, pass_fds=pass_fds, start_new_session=True, env=env)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def stop(self, grace=3.0):
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout=grace)
        self._log.close()

    def log_tail(self, n=5):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode(errors="replace").strip().splitlines()[-n:])
        except OSError:
            return ""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """True when some socket listens on this TCP port (no probe connection needed)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            continue
    return False


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise Failure("timed out waiting for " + what)


def vm_hwm_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def start_xvfb(logdir):
    r, w = os.pipe()
    try:
        xvfb = Proc("xvfb", ["Xvfb", "-displayfd", str(w), "-screen", "0", "1920x1080x24",
                             "-nolisten", "tcp", "-noreset"], logdir, pass_fds=(w,))
    finally:
        os.close(w)
    data = b""
    deadline = time.monotonic() + 15
    while not data.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([r], [], [], 0.2)
        if ready:
            chunk = os.read(r, 64)
            if not chunk:
                break
            data += chunk
    os.close(r)
    if not data.strip().isdigit():
        xvfb.stop()
        raise Failure("Xvfb did not report a display: " + xvfb.log_tail())
    return xvfb, ":" + data.decode().strip()


def start_workload(binary, mode, display, stamps, logdir):
    wl = Proc("workload-" + mode,
              [binary, "--display", display, "--mode", mode, "--stamps", stamps], logdir,
              stdout=subprocess.PIPE)
    ready, _, _ = select.select([wl.popen.stdout], [], [], 90)
    line = wl.popen.stdout.readline() if ready else b""
    if line.strip() != b"READY":
        wl.stop()
        raise Failure("workload %s did not start: %s" % (mode, wl.log_tail()))
    return wl


def x0vncserver_binary():
    return shutil.which("X0tigervnc") or "x0vncserver"


def server_argv(server, vncd, display, port):
    # Each server as its documentation tells users to run it: no password, loopback only.
    if server == "vncd":
        return [vncd, "--display", display, "--port", str(port), "--localhost"]
    if server == "x0vncserver":
        # Debian's x0vncserver is a Perl wrapper that forks the real server, X0tigervnc, and
        # exits when the first client leaves; run the server itself (upstream's x0vncserver).
        return [x0vncserver_binary(), "-display", display, "-rfbport", str(port),
                "-SecurityTypes", "None", "-localhost"]
    if server == "x11vnc":
        return ["x11vnc", "-display", display, "-rfbport", str(port), "-localhost", "-nopw",
                "-forever", "-shared"]
    raise ValueError(server)


def start_server(server, vncd, display, logdir, tag):
    port = free_port()
    proc = Proc("%s-%s" % (server, tag), server_argv(server, vncd, display, port), logdir)
    try:
        wait_until(lambda: listening(port) or not proc.alive(), 20, server + " to listen")
        if not proc.alive():
            raise Failure("%s exited: %s" % (server, proc.log_tail()))
    except Failure:
        proc.stop()
        raise
    return proc, port


def run_client(client_bin, port, encoding, args, stamps, server_pid=0, x_pid=0, extra=(),
               duration=None, warmup=None):
    duration = args.duration if duration is None else duration
    warmup = args.warmup if warmup is None else warmup
    argv = [client_bin, "--port", str(port), "--encoding", encoding, "--quality",
            str(args.quality), "--duration", str(duration), "--warmup", str(warmup),
            "--stamps", stamps]
    if server_pid:
        argv += ["--server-pid", str(server_pid)]
    if x_pid:
        argv += ["--x-pid", str(x_pid)]
    argv += list(extra)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def collect_client(popen, timeout):
    try:
        out, err = popen.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(popen.pid, signal.SIGKILL)
        popen.communicate()
        raise Failure("client timed out")
    if popen.returncode != 0:
        raise Failure("client failed: " + err.decode(errors="replace").strip())
    return json.loads(out.decode().strip().splitlines()[-1])


def derive(row):
    """Per-update and per-second figures from one client report."""
    secs = row["seconds"] or 1e-9
    upd = row["updates"]
    row["updates_per_s"] = upd / secs
    row["bytes_per_update"] = row["bytes"] / upd if upd else None
    row["bytes_per_s"] = row["bytes"] / secs
    cpu = row["server_cpu_s"]
    row["cpu_pct"] = 100.0 * cpu / secs if cpu is not None and cpu >= 0 else None
    row["cpu_ms_per_update"] = 1000.0 * cpu / upd if upd and cpu is not None and cpu >= 0 else None
    xcpu = row.get("x_cpu_s")
    row["x_cpu_pct"] = 100.0 * xcpu / secs if xcpu is not None and xcpu >= 0 else None
    issued = row["markers_issued"]
    row["delivered_pct"] = 100.0 * row["markers_seen"] / issued if issued else None
    # Workload steps that reached the screen per second: frames in the user's sense, whatever
    # number of partial updates carried them.
    seen = row["markers_seen"]
    row["steps_per_s"] = seen / secs if issued else None
    row["bytes_per_step"] = row["bytes"] / seen if seen else None
    row["cpu_ms_per_step"] = 1000.0 * cpu / seen if seen and cpu is not None and cpu >= 0 else None
    for key in ("lat_p50_ms", "lat_p95_ms"):
        if row[key] is not None and row[key] < 0:
            row[key] = None
    return row


def server_warmup(server, args):
    # x11vnc spends about 3 s after a client connects measuring the network before it creates
    # its XDAMAGE object and settles; measuring that start-up would not be its steady state.
    return args.warmup + (args.x11vnc_warmup if server == "x11vnc" else 0.0)


def measure(server, workload, encoding, rnd, args, paths, display, xvfb, stamps, logdir):
    tag = "%s-%s-%d" % (workload, encoding, rnd)
    # Idle CPU is a few clock ticks (10 ms each) per run: the static desktop is measured longer.
    duration = max(args.duration, args.static_duration) if workload == "static" else args.duration
    proc, port = start_server(server, paths["vncd"], display, logdir, tag)
    try:
        warmup = server_warmup(server, args)
        popen = run_client(paths["client"], port, encoding, args, stamps, proc.pid, xvfb.pid,
                           warmup=warmup, duration=duration)
        rep = collect_client(popen, warmup + duration + 30)
        rep["rss_kb"] = vm_hwm_kb(proc.pid)
        if not proc.alive():
            raise Failure("%s died during the run: %s" % (server, proc.log_tail()))
    finally:
        proc.stop()
    rep.update(workload=workload, encoding=encoding, server=server, round=rnd)
    return derive(rep)


CSV_FIELDS = ["workload", "encoding", "server", "round", "seconds", "updates", "updates_per_s",
              "rects", "copy_rects", "bytes", "bytes_per_update", "bytes_per_s", "server_cpu_s",
              "cpu_pct", "cpu_ms_per_update", "x_cpu_s", "x_cpu_pct", "rss_kb", "lat_n",
              "lat_p50_ms", "lat_p95_ms", "markers_issued", "markers_seen", "delivered_pct",
              "steps_per_s", "bytes_per_step", "cpu_ms_per_step",
              "first_update_ms", "client_cpu_s"]


def median_row(rows):
    """Median over rounds of every numeric field (one round: that round)."""
    out = dict(rows[0])
    for key in CSV_FIELDS:
        vals = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
        if key not in ("round",) and vals:
            out[key] = statistics.median(vals)
    out["round"] = "median(%d)" % len(rows)
    return out


def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.*f" % (digits, v)
    return str(v)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def better(values, higher):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return max(vals) if higher else min(vals)


def table(results, workloads, encodings, servers):
    """The main table and vncd's ratios, as text lines."""
    lines = []
    head = "%-12s %-11s %7s %8s %9s %8s %7s %8s %6s %7s %8s %8s %6s" % (
        "encoding", "server", "steps/s", "upd/s", "KB/step", "MB/s", "CPU%", "ms/step", "X%",
        "RSS MB",
        "lat p50", "lat p95", "dlvr%")
    for wl in workloads:
        lines.append("")
        lines.append(WORKLOAD_LABELS[wl])
        lines.append(head)
        for enc in encodings.get(wl, []):
            for srv in servers:
                r = results.get((wl, enc, srv))
                if r is None:
                    lines.append("%-12s %-11s %s" % (enc, srv, "failed"))
                    continue
                lines.append("%-12s %-11s %7s %8s %9s %8s %7s %8s %6s %7s %8s %8s %6s" % (
                    enc, srv, fmt(r["steps_per_s"]), fmt(r["updates_per_s"]),
                    fmt(r["bytes_per_step"] / 1024 if r["bytes_per_step"] else None),
                    fmt(r["bytes_per_s"] / 1e6, 2), fmt(r["cpu_pct"]),
                    fmt(r["cpu_ms_per_step"], 2), fmt(r["x_cpu_pct"]),
                    fmt(r["rss_kb"] / 1024 if r["rss_kb"] else None),
                    fmt(r["lat_p50_ms"]), fmt(r["lat_p95_ms"]), fmt(r["delivered_pct"], 0)))
            vncd = results.get((wl, enc, "vncd"))
            if vncd is None or "vncd" not in servers:
                continue
            peers = [p for p in PEERS if p in servers and results.get((wl, enc, p))]
            if not peers:
                continue
            parts = []
            for key, label, higher in RATIO_METRICS:
                each = ["%s %s" % (p.replace("server", ""), fmt(
                    ratio(vncd[key], results[(wl, enc, p)][key]), 2)) for p in peers]
                best = better([results[(wl, enc, p)][key] for p in peers], higher)
                parts.append("%s: %s, best %s" % (label, " ".join(each),
                                                  fmt(ratio(vncd[key], best), 2)))
            lines.append("  vncd/peer  " + "; ".join(parts))
    lines += summary(results, workloads, encodings, servers)
    return lines


def summary(results, workloads, encodings, servers):
    """One line per workload and encoding: vncd's ratio to the better peer for each metric."""
    if "vncd" not in servers or not any(p in servers for p in PEERS):
        return []
    lines = ["", "vncd / better peer (same run; > 1 is better for steps/s, < 1 for the rest)",
             "%-8s %-11s" % ("workload", "encoding")
             + "".join(" %13s" % label for _, label, _ in RATIO_METRICS)]
    for wl in workloads:
        for enc in encodings.get(wl, []):
            vncd = results.get((wl, enc, "vncd"))
            peers = [results[(wl, enc, p)] for p in PEERS
                     if p in servers and (wl, enc, p) in results]
            if vncd is None or not peers:
                continue
            cells = [fmt(ratio(vncd[key], better([p[key] for p in peers], higher)), 2)
                     for key, _, higher in RATIO_METRICS]
            lines.append("%-8s %-11s" % (wl, enc) + "".join(" %13s" % c for c in cells))
    return lines


def package_version(pkg):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True,
                              text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine_info(paths, args):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "?", ""
    buildtype = "?"
    try:
        with open(os.path.join(args.build_dir, "meson-info", "intro-buildoptions.json")) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
        buildtype = "%s, b_ndebug=%s" % (opts.get("buildtype"), opts.get("b_ndebug"))
    except (OSError, ValueError, KeyError):
        pass
    return [
        "- date: %s" % datetime.datetime.now().isoformat(timespec="seconds"),
        "- machine: %d CPUs (nproc), %s, %.1f GB RAM, kernel %s" % (
            os.cpu_count(), cpu, mem_kb / 1048576, os.uname().release),
        "- vncd: commit %s%s, build %s (%s)" % (
            commit, " + uncommitted changes in src/" if dirty else "", paths["vncd"], buildtype),
        "- x0vncserver (tigervnc-scraping-server) %s; x11vnc %s; Xvfb (xvfb) %s; "
        "libvncclient (libvncserver1) %s" % (
            package_version("tigervnc-scraping-server"), package_version("x11vnc"),
            package_version("xvfb"), package_version("libvncserver1")),
        "- settings: %.1f s measured after %.1f s warm-up per run (x11vnc: %.1f s more), "
        "%d round(s), Tight+JPEG quality %d, client encodings '<enc> copyrect', 32 bpp" % (
            args.duration, args.warmup, args.x11vnc_warmup, args.rounds, args.quality),
    ]


def slow_client_bench(args, paths, logdir, tmp):
    """Fast client alone vs beside a slow one (small SO_RCVBUF, capped read rate), per server."""
    rows = []
    xvfb, display = start_xvfb(logdir)
    stamps = os.path.join(tmp, "stamps-slow")
    wl = None
    try:
        wl = start_workload(paths["workload"], args.slow_workload, display, stamps, logdir)
        for srv in args.slow_servers:
            proc, port = start_server(srv, paths["vncd"], display, logdir, "slow")
            try:
                warmup = server_warmup(srv, args)
                fast = run_client(paths["client"], port, args.slow_encoding, args, stamps,
                                  proc.pid, xvfb.pid, warmup=warmup)
                alone = derive(collect_client(fast, warmup + args.duration + 30))
                slow_time = args.duration + warmup + 2
                slow = run_client(paths["client"], port, args.slow_encoding, args, stamps,
                                  extra=["--rcvbuf", str(args.slow_rcvbuf),
                                         "--max-rate", str(args.slow_rate)],
                                  duration=slow_time, warmup=0.5)
                time.sleep(1.0)  # let the slow client's backlog build up first
                fast = run_client(paths["client"], port, args.slow_encoding, args, stamps,
                                  proc.pid, xvfb.pid, warmup=warmup)
                beside = derive(collect_client(fast, warmup + args.duration + 30))
                slow_rep = derive(collect_client(slow, slow_time + 30))
            finally:
                proc.stop()
            rows.append({
                "server": srv, "workload": args.slow_workload, "encoding": args.slow_encoding,
                "fast_alone_steps_per_s": alone["steps_per_s"],
                "fast_beside_slow_steps_per_s": beside["steps_per_s"],
                "ratio": ratio(beside["steps_per_s"], alone["steps_per_s"]),
                "fast_alone_ups": alone["updates_per_s"],
                "fast_beside_slow_ups": beside["updates_per_s"],
                "fast_alone_lat_p50_ms": alone["lat_p50_ms"],
                "fast_beside_slow_lat_p50_ms": beside["lat_p50_ms"],
                "slow_steps_per_s": slow_rep["steps_per_s"],
                "slow_bytes_per_s": slow_rep["bytes_per_s"],
                "slow_lat_p50_ms": slow_rep["lat_p50_ms"],
            })
            log("slow-client %s: %s" % (srv, fmt(rows[-1]["ratio"], 2)))
    finally:
        if wl:
            wl.stop()
        xvfb.stop()
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build_dir", nargs="?", default="build",
                    help="meson build directory with vncd and bench/e2e_* (default: build)")
    ap.add_argument("--duration", type=float, default=5.0, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=1.5, help="seconds before measuring")
    ap.add_argument("--x11vnc-warmup", type=float, default=3.0,
                    help="extra warm-up for x11vnc (its start-up network probe)")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds (median reported)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--encodings", default=",".join(ENCODINGS))
    ap.add_argument("--static-duration", type=float, default=10.0,
                    help="measured seconds on the static desktop (idle CPU needs more ticks)")
    ap.add_argument("--static-encodings", default="zrle",
                    help="encodings for the static desktop (it measures idle cost)")
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--quality", type=int, default=8, help="JPEG quality level for tight-jpeg")
    ap.add_argument("--no-slow", action="store_true", help="skip the slow-client benchmark")
    ap.add_argument("--slow-servers", default=",".join(SERVERS))
    ap.add_argument("--slow-workload", default="scroll")
    ap.add_argument("--slow-encoding", default="zrle")
    ap.add_argument("--slow-rcvbuf", type=int, default=4096)
    ap.add_argument("--slow-rate", type=float, default=500e3, help="slow client bytes/s cap")
    ap.add_argument("--out-dir", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--keep-logs", action="store_true", help="keep the server logs directory")
    args = ap.parse_args()
    args.slow_servers = [s for s in args.slow_servers.split(",") if s]

    build = args.build_dir
    paths = {"vncd": os.path.join(build, "vncd"),
             "client": os.path.join(build, "bench", "e2e_client"),
             "workload": os.path.join(build, "bench", "e2e_workload")}
    for name, path in paths.items():
        if not os.access(path, os.X_OK):
            sys.exit("run.py: %s not found at %s (meson setup %s -Dbench=true && ninja -C %s)"
                     % (name, path, build, build))
    paths = {k: os.path.abspath(v) for k, v in paths.items()}
    servers = [s for s in args.servers.split(",") if s]
    for srv in servers + args.slow_servers:
        if srv not in SERVERS:
            sys.exit("run.py: unknown server " + srv)
        if srv != "vncd" and shutil.which(srv) is None:
            sys.exit("run.py: %s is not installed" % srv)
    workloads = [w for w in args.workloads.split(",") if w]
    encodings = {w: [e for e in (args.static_encodings if w == "static" else args.encodings)
                     .split(",") if e] for w in workloads}
    for w in workloads:
        if w not in WORKLOADS or any(e not in ENCODINGS for e in encodings[w]):
            sys.exit("run.py: unknown workload or encoding in %s %s" % (w, encodings[w]))

    tmp = tempfile.mkdtemp(prefix="vncd-e2e-")
    logdir = os.path.join(tmp, "logs")
    os.makedirs(logdir)
    t0 = time.monotonic()
    load_start = os.getloadavg()
    all_rows, results, failures = [], {}, []
    try:
        for wl_name in workloads:
            xvfb, display = start_xvfb(logdir)
            stamps = os.path.join(tmp, "stamps-" + wl_name)
            wl = None
            try:
                wl = start_workload(paths["workload"], wl_name, display, stamps, logdir)
                for enc in encodings[wl_name]:
                    per_server = {s: [] for s in servers}
                    for rnd in range(args.rounds):
                        for srv in servers:
                            try:
                                row = measure(srv, wl_name, enc, rnd, args, paths, display,
                                              xvfb, stamps, logdir)
                            except Failure as e:
                                failures.append("%s/%s/%s: %s" % (wl_name, enc, srv, e))
                                log("FAILED " + failures[-1])
                                continue
                            all_rows.append(row)
                            per_server[srv].append(row)
                            log("%-7s %-10s %-11s %6.1f upd/s %8.1f KB/upd cpu %5.1f%% "
                                "p50 %s ms" % (wl_name, enc, srv, row["updates_per_s"],
                                               (row["bytes_per_update"] or 0) / 1024,
                                               row["cpu_pct"] or 0, fmt(row["lat_p50_ms"])))
                            time.sleep(0.2)
                    for srv, rows in per_server.items():
                        if rows:
                            results[(wl_name, enc, srv)] = median_row(rows)
            finally:
                if wl:
                    wl.stop()
                    log("workload %s: %s" % (wl_name, wl.log_tail(1)))
                xvfb.stop()
        slow_rows = []
        if not args.no_slow:
            try:
                slow_rows = slow_client_bench(args, paths, logdir, tmp)
            except Failure as e:
                failures.append("slow-client: %s" % e)
                log("FAILED " + failures[-1])
    finally:
        if not args.keep_logs:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log("logs kept in " + logdir)

    lines = table(results, workloads, encodings, servers)
    if slow_rows:
        lines += ["", "Slow client (rcvbuf %d, read rate capped at %.0f KB/s) beside a fast one, "
                  "%s + %s: fast client's rate (steps shown/s) beside the slow one / alone "
                  "(target >= 0.9)"
                  % (args.slow_rcvbuf, args.slow_rate / 1e3, args.slow_workload,
                     args.slow_encoding),
                  "%-11s %10s %12s %6s %10s %12s %9s" % ("server", "alone", "beside slow",
                                                         "ratio", "slow", "slow KB/s",
                                                         "slow p50")]
        for r in slow_rows:
            lines.append("%-11s %10s %12s %6s %10s %12s %9s" % (
                r["server"], fmt(r["fast_alone_steps_per_s"]),
                fmt(r["fast_beside_slow_steps_per_s"]), fmt(r["ratio"], 2),
                fmt(r["slow_steps_per_s"]), fmt(r["slow_bytes_per_s"] / 1e3, 0),
                fmt(r["slow_lat_p50_ms"])))
    if failures:
        lines += ["", "Failures:"] + ["  " + f for f in failures]
    lines.append("")
    lines.append("Columns: steps/s: workload steps whose marker reached the client's screen, "
                 "per second (frames); upd/s: FramebufferUpdate messages; KB/step (per step "
                 "shown) and MB/s on the wire (TCP_INFO of the client socket); CPU% and ms/step: "
                 "the server process (all threads); X%: the X server's CPU in the same window "
                 "(screen scraping costs X time too); lat: marker change to decoded "
                 "framebuffer; dlvr%: workload steps whose marker the client saw.")
    print("\n".join(lines))

    os.makedirs(args.out_dir, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    base = os.path.join(args.out_dir, "e2e-" + stamp)
    with open(base + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for row in all_rows:
            w.writerow(row)
    if slow_rows:
        with open(base + "-slow.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(slow_rows[0].keys()))
            w.writeheader()
            w.writerows(slow_rows)
    with open(base + ".md", "w") as f:
        f.write("# e2e benchmark %s\n\n" % stamp)
        f.write("\n".join(machine_info(paths, args)) + "\n")
        f.write("- wall time: %.0f s; load average (1/5/15 min) at start %s, at end %s "
                "(above nproc: other work shared the machine)\n" % (
                    time.monotonic() - t0, "/".join("%.1f" % v for v in load_start),
                    "/".join("%.1f" % v for v in os.getloadavg())))
        f.write("- command: `%s`\n\n" % " ".join(sys.argv))
        f.write("```\n" + "\n".join(lines) + "\n```\n")
    log("wrote %s.csv and %s.md" % (base, base))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
