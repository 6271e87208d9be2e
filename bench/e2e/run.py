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
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

WORKLOADS = ["static", "scroll", "photo", "small", "drag", "click", "fullframe"]
WORKLOAD_LABELS = {
    "static": "(a) static desktop",
    "scroll": "(b) terminal scrolling text, 30 steps/s",
    "photo": "(c) full-screen photographic motion, 30 fps",
    "small": "(d) small changes (typing + clock), 10/s",
    "drag": "(e) 600x400 window dragged, 30 fps",
    "click": "(f) click-to-screen on the static desktop: press+release, the press draws a marker",
    "fullframe": "(g) full-frame encode: non-incremental whole-screen requests on a still screen",
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
# Click cells: (key, label, higher is better).
CLICK_METRICS = [
    ("click_p50_ms", "click p50", False),
    ("click_p95_ms", "click p95", False),
    ("cpu_pct", "CPU %", False),
]
# Full-frame cells.
FF_METRICS = [
    ("ff_wall_p50_ms", "wall ms/frame", False),
    ("ff_server_cpu_ms", "CPU ms/frame", False),
    ("ff_bytes", "bytes/frame", False),
]
# Metrics whose spread over rounds is reported, per kind of cell.
SPREAD_KEYS = ["steps_per_s", "bytes_per_step", "cpu_ms_per_step", "cpu_pct", "lat_p50_ms",
               "click_p50_ms", "ff_wall_p50_ms", "ff_server_cpu_ms"]


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


def start_workload(binary, mode, display, stamps, logdir, extra=()):
    wl = Proc("workload-" + mode,
              [binary, "--display", display, "--mode", mode, "--stamps", stamps] + list(extra),
              logdir, stdout=subprocess.PIPE)
    ready, _, _ = select.select([wl.popen.stdout], [], [], 90)
    line = wl.popen.stdout.readline() if ready else b""
    if line.strip() != b"READY":
        wl.stop()
        raise Failure("workload %s did not start: %s" % (mode, wl.log_tail()))
    return wl


def x0vncserver_binary():
    return shutil.which("X0tigervnc") or "x0vncserver"


def server_argv(server, vncd, display, port, vncd_args=()):
    # Each server as its documentation tells users to run it: no password, loopback only.
    # vncd_args (--vncd-args): extra vncd flags, e.g. "--threads 1" to compare thread counts.
    if server == "vncd":
        return [vncd, "--display", display, "--port", str(port), "--localhost"] + list(vncd_args)
    if server == "x0vncserver":
        # Debian's x0vncserver is a Perl wrapper that forks the real server, X0tigervnc, and
        # exits when the first client leaves; run the server itself (upstream's x0vncserver).
        return [x0vncserver_binary(), "-display", display, "-rfbport", str(port),
                "-SecurityTypes", "None", "-localhost"]
    if server == "x11vnc":
        return ["x11vnc", "-display", display, "-rfbport", str(port), "-localhost", "-nopw",
                "-forever", "-shared"]
    raise ValueError(server)


def start_server(server, vncd, display, logdir, tag, vncd_args=()):
    port = free_port()
    proc = Proc("%s-%s" % (server, tag), server_argv(server, vncd, display, port, vncd_args),
                logdir)
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
    if "ff_n" in row:  # a full-frame cell: the client reported per-frame figures
        for key in ("ff_server_cpu_ms", "ff_x_cpu_ms"):
            if row[key] is not None and row[key] < 0:
                row[key] = None
        return row
    sent = row.get("clicks_sent") or 0
    row["clicks_seen_pct"] = (100.0 * (row["clicks_seen"] + row["clicks_superseded"]) / sent
                              if sent else None)
    for key in ("click_p50_ms", "click_p95_ms", "click_input_p50_ms"):
        if row.get(key) is not None and row[key] < 0:
            row[key] = None
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
    extra, timeout = [], duration + 30
    if workload == "click":
        extra = ["--clicks", str(args.click_rate)]
    elif workload == "fullframe":
        extra = ["--full-frames", str(args.full_frames)]
        timeout = 60 + 10 * args.full_frames  # each frame waits at most 30 s; this is a backstop
    load_before = os.getloadavg()[0]
    proc, port = start_server(server, paths["vncd"], display, logdir, tag, args.vncd_args)
    try:
        warmup = server_warmup(server, args)
        popen = run_client(paths["client"], port, encoding, args, stamps, proc.pid, xvfb.pid,
                           warmup=warmup, duration=duration, extra=extra)
        rep = collect_client(popen, warmup + timeout)
        rep["rss_kb"] = vm_hwm_kb(proc.pid)
        if not proc.alive():
            raise Failure("%s died during the run: %s" % (server, proc.log_tail()))
    finally:
        proc.stop()
    rep.update(workload=workload, encoding=encoding, server=server, round=rnd,
               loadavg_before=round(load_before, 2), loadavg_after=round(os.getloadavg()[0], 2))
    return derive(rep)


CSV_FIELDS = ["workload", "encoding", "server", "round", "seconds", "updates", "updates_per_s",
              "rects", "copy_rects", "bytes", "bytes_per_update", "bytes_per_s", "server_cpu_s",
              "cpu_pct", "cpu_ms_per_update", "x_cpu_s", "x_cpu_pct", "rss_kb", "lat_n",
              "lat_p50_ms", "lat_p95_ms", "markers_issued", "markers_seen", "delivered_pct",
              "steps_per_s", "bytes_per_step", "cpu_ms_per_step",
              "first_update_ms", "client_cpu_s",
              "clicks_sent", "clicks_seen", "clicks_superseded", "clicks_seen_pct",
              "click_p50_ms", "click_p95_ms", "click_input_p50_ms",
              "ff_n", "ff_seconds", "ff_wall_p50_ms", "ff_wall_min_ms", "ff_wall_max_ms",
              "ff_server_cpu_ms", "ff_x_cpu_ms", "ff_bytes",
              "loadavg_before", "loadavg_after"] + ["spread_" + k for k in SPREAD_KEYS]


def median_row(rows):
    """Median over rounds of every numeric field (one round: that round), and the spread of the
    main metrics: (max - min) / median, in percent."""
    out = dict(rows[0])
    for key in CSV_FIELDS:
        vals = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
        if key not in ("round",) and vals:
            out[key] = statistics.median(vals)
            if key in SPREAD_KEYS and len(vals) > 1 and out[key]:
                out["spread_" + key] = 100.0 * (max(vals) - min(vals)) / abs(out[key])
    out["round"] = "median(%d)" % len(rows)
    return out


def spread(r, keys):
    """The largest spread over rounds among these metrics of a median row ('-' with one round)."""
    vals = [r.get("spread_" + k) for k in keys if r.get("spread_" + k) is not None]
    return max(vals) if vals else None


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
    head = "%-12s %-11s %7s %8s %9s %8s %7s %8s %6s %7s %8s %8s %6s %6s" % (
        "encoding", "server", "steps/s", "upd/s", "KB/step", "MB/s", "CPU%", "ms/step", "X%",
        "RSS MB",
        "lat p50", "lat p95", "dlvr%", "sprd%")
    for wl in workloads:
        if wl in ("click", "fullframe"):
            continue
        lines.append("")
        lines.append(WORKLOAD_LABELS[wl])
        lines.append(head)
        for enc in encodings.get(wl, []):
            for srv in servers:
                r = results.get((wl, enc, srv))
                if r is None:
                    lines.append("%-12s %-11s %s" % (enc, srv, "failed"))
                    continue
                lines.append("%-12s %-11s %7s %8s %9s %8s %7s %8s %6s %7s %8s %8s %6s %6s" % (
                    enc, srv, fmt(r["steps_per_s"]), fmt(r["updates_per_s"]),
                    fmt(r["bytes_per_step"] / 1024 if r["bytes_per_step"] else None),
                    fmt(r["bytes_per_s"] / 1e6, 2), fmt(r["cpu_pct"]),
                    fmt(r["cpu_ms_per_step"], 2), fmt(r["x_cpu_pct"]),
                    fmt(r["rss_kb"] / 1024 if r["rss_kb"] else None),
                    fmt(r["lat_p50_ms"]), fmt(r["lat_p95_ms"]), fmt(r["delivered_pct"], 0),
                    fmt(spread(r, ["steps_per_s", "cpu_ms_per_step", "lat_p50_ms"]), 0)))
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
    if "click" in workloads:
        lines += click_table(results, encodings["click"], servers)
    if "fullframe" in workloads:
        lines += fullframe_table(results, encodings["fullframe"], servers)
    lines += summary(results, [w for w in workloads if w != "fullframe"], encodings, servers)
    return lines


def peer_ratios(results, cell, metrics, servers):
    """'label: x0vnc R x11vnc R, best R' for vncd against each peer present, per metric."""
    vncd = results.get(cell + ("vncd",))
    peers = [p for p in PEERS if p in servers and results.get(cell + (p,))]
    if vncd is None or not peers:
        return None
    parts = []
    for key, label, higher in metrics:
        each = ["%s %s" % (p.replace("server", ""),
                           fmt(ratio(vncd.get(key), results[cell + (p,)].get(key)), 2))
                for p in peers]
        best = better([results[cell + (p,)].get(key) for p in peers], higher)
        parts.append("%s: %s, best %s" % (label, " ".join(each),
                                          fmt(ratio(vncd.get(key), best), 2)))
    return "  vncd/peer  " + "; ".join(parts)


def click_table(results, encodings, servers):
    lines = ["", WORKLOAD_LABELS["click"],
             "%-12s %-11s %6s %6s %6s %9s %9s %9s %7s %6s %6s" % (
                 "encoding", "server", "sent", "seen%", "supsd", "click p50", "click p95",
                 "input p50", "CPU%", "X%", "sprd%")]
    for enc in encodings:
        for srv in servers:
            r = results.get(("click", enc, srv))
            if r is None:
                lines.append("%-12s %-11s %s" % (enc, srv, "failed"))
                continue
            lines.append("%-12s %-11s %6s %6s %6s %9s %9s %9s %7s %6s %6s" % (
                enc, srv, fmt(r.get("clicks_sent"), 0), fmt(r.get("clicks_seen_pct"), 0),
                fmt(r.get("clicks_superseded"), 0), fmt(r.get("click_p50_ms")),
                fmt(r.get("click_p95_ms")), fmt(r.get("click_input_p50_ms")),
                fmt(r.get("cpu_pct")), fmt(r.get("x_cpu_pct")),
                fmt(spread(r, ["click_p50_ms"]), 0)))
        line = peer_ratios(results, ("click", enc), CLICK_METRICS, servers)
        if line:
            lines.append(line)
    lines.append("  click: PointerEvent press sent to its marker decoded (p50/p95); supsd: presses "
                 "seen through a later press's marker; input: press sent to the workload's "
                 "answer drawn (server input path + X; diagnostic)")
    return lines


def fullframe_table(results, encodings, servers):
    lines = ["", WORKLOAD_LABELS["fullframe"],
             "%-12s %-11s %4s %10s %15s %12s %10s %9s %7s %6s" % (
                 "encoding", "server", "n", "wall p50", "wall min-max", "CPU ms/frm",
                 "X ms/frm", "KB/frame", "RSS MB", "sprd%")]
    for enc in encodings:
        for srv in servers:
            r = results.get(("fullframe", enc, srv))
            if r is None:
                lines.append("%-12s %-11s %s" % (enc, srv, "failed"))
                continue
            lines.append("%-12s %-11s %4s %10s %15s %12s %10s %9s %7s %6s" % (
                enc, srv, fmt(r.get("ff_n"), 0), fmt(r.get("ff_wall_p50_ms")),
                "%s-%s" % (fmt(r.get("ff_wall_min_ms")), fmt(r.get("ff_wall_max_ms"))),
                fmt(r.get("ff_server_cpu_ms")), fmt(r.get("ff_x_cpu_ms")),
                fmt(r["ff_bytes"] / 1024 if r.get("ff_bytes") else None, 0),
                fmt(r["rss_kb"] / 1024 if r.get("rss_kb") else None),
                fmt(spread(r, ["ff_wall_p50_ms", "ff_server_cpu_ms"]), 0)))
        line = peer_ratios(results, ("fullframe", enc), FF_METRICS, servers)
        if line:
            lines.append(line)
    lines.append("  wall: non-incremental whole-screen request sent to the update decoded (median "
                 "over the frames); CPU: the server's CPU time over the timed frames / frames "
                 "(the encode cost, with whatever the server does meanwhile); X: the X server's "
                 "CPU per frame")
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


def targets(results, slow_rows, workloads, encodings, servers):
    """The issue's targets (bench/README.md), one 'target / measured / met?' line each."""
    rows = []

    def cell(wl, enc, srv):
        return results.get((wl, enc, srv)) if srv in servers else None

    def best_peer(wl, enc, key, higher):
        return better([cell(wl, enc, p).get(key) for p in PEERS if cell(wl, enc, p)], higher)

    def add(target, measured, met):
        rows.append((target, measured, "-" if met is None else ("yes" if met else "NO")))

    def vs_best(wl, enc, key, higher, limit, at_least):
        """vncd / better peer for one metric: (ratio text, met or None)."""
        v = cell(wl, enc, "vncd")
        r = ratio(v.get(key) if v else None, best_peer(wl, enc, key, higher))
        if r is None:
            return "no data", None
        return "%.2fx" % r, (r >= limit if at_least else r <= limit)

    def all_delivered(r):
        return r is not None and r["markers_issued"] and r["markers_seen"] >= r["markers_issued"] - 1

    for enc in encodings.get("scroll", []) if "scroll" in workloads else []:
        b_txt, b_ok = vs_best("scroll", enc, "bytes_per_step", False, 0.25, False)
        c_txt, c_ok = vs_best("scroll", enc, "cpu_ms_per_step", False, 0.5, False)
        v = cell("scroll", enc, "vncd")
        dl = all_delivered(v)
        add("scroll %s: bytes/step <= 0.25x, CPU/step <= 0.5x better peer, every step shown"
            % enc, "%s, %s, shown %s/%s" % (
                b_txt, c_txt, fmt(v and v["markers_seen"], 0), fmt(v and v["markers_issued"], 0)),
            None if b_ok is None or c_ok is None else (b_ok and c_ok and dl))
    if "photo" in workloads and "zrle" in encodings.get("photo", []):
        txt, ok = vs_best("photo", "zrle", "steps_per_s", True, 2.0, True)
        add("photo zrle: steps shown/s >= 2x better peer", txt, ok)
    if "photo" in workloads and "tight-jpeg" in encodings.get("photo", []):
        txt, ok = vs_best("photo", "tight-jpeg", "cpu_ms_per_step", False, 0.6, False)
        v = cell("photo", "tight-jpeg", "vncd")
        full = v is not None and (v.get("delivered_pct") or 0) >= 95
        add("photo tight-jpeg: full rate (>= 95% of steps shown), CPU/step <= 0.6x better peer",
            "%s%% shown, %s" % (fmt(v and v.get("delivered_pct"), 0), txt),
            None if ok is None else (ok and full))
    for wl in workloads:
        if wl in ("static", "click", "fullframe"):
            continue
        cells = [(enc,) + vs_best(wl, enc, "lat_p50_ms", False, 0.5, False)
                 for enc in encodings.get(wl, [])]
        cells = [c for c in cells if c[2] is not None]
        if cells:
            add("latency p50 (change) %s <= 0.5x better peer" % wl,
                " ".join("%s %s" % (c[0], c[1]) for c in cells), all(c[2] for c in cells))
    for enc in encodings.get("click", []) if "click" in workloads else []:
        txt, ok = vs_best("click", enc, "click_p50_ms", False, 0.5, False)
        add("latency p50 (click) %s <= 0.5x better peer" % enc, txt, ok)
    for enc in encodings.get("fullframe", []) if "fullframe" in workloads else []:
        v, x0 = cell("fullframe", enc, "vncd"), cell("fullframe", enc, "x0vncserver")
        r = ratio(v and v.get("ff_server_cpu_ms"), x0 and x0.get("ff_server_cpu_ms"))
        w = ratio(v and v.get("ff_wall_p50_ms"), x0 and x0.get("ff_wall_p50_ms"))
        add("full-frame encode %s: CPU/frame <= 0.5x x0vncserver" % enc,
            "%s (wall %s)" % (fmt(r, 2) + "x" if r is not None else "no data",
                              fmt(w, 2) + "x" if w is not None else "-"),
            None if r is None else r <= 0.5)
    for enc in encodings.get("static", []) if "static" in workloads else []:
        # Absolute, not a ratio: an idle server may well use 0 clock ticks.
        v = cell("static", enc, "vncd")
        best = best_peer("static", enc, "cpu_pct", False)
        mine = v.get("cpu_pct") if v else None
        add("idle CPU (static %s) <= better peer's" % enc,
            "vncd %s%%, better peer %s%%" % (fmt(mine, 2), fmt(best, 2)),
            None if mine is None or best is None else mine <= best)
    worst = None
    for (wl, enc, srv), v in results.items():
        if srv != "vncd" or not v.get("rss_kb"):
            continue
        r = ratio(v["rss_kb"], best_peer(wl, enc, "rss_kb", False))
        if r is not None and (worst is None or r > worst[0]):
            worst = (r, wl, enc)
    add("peak RSS <= 1.5x better peer (worst cell)",
        "%.2fx (%s %s)" % worst if worst else "no data", None if worst is None else worst[0] <= 1.5)
    slow = [r for r in slow_rows if r["server"] == "vncd"]
    add("slow client: fast client's rate beside it / alone >= 0.9",
        fmt(slow[0]["ratio"], 2) if slow else "not run",
        None if not slow or slow[0]["ratio"] is None else slow[0]["ratio"] >= 0.9)
    width = max(len(t) for t, _, _ in rows) if rows else 0
    mwidth = max([len(m) for _, m, _ in rows] + [8])
    lines = ["", "Targets (issue 4; '-': not measured in this run)",
             "%-*s | %-*s | %s" % (width, "target", mwidth, "measured", "met?")]
    lines += ["%-*s | %-*s | %s" % (width, t, mwidth, m, ok) for t, m, ok in rows]
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
        "- click: %.0f presses/s; full frame: %d timed frames per cell, content %s; "
        "vncd extra arguments: %s" % (
            args.click_rate, args.full_frames, args.fullframe_content,
            " ".join(shlex.quote(a) for a in args.vncd_args) or "none"),
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
            proc, port = start_server(srv, paths["vncd"], display, logdir, "slow",
                                      args.vncd_args)
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
    ap.add_argument("--click-encodings", default="zrle",
                    help="encodings for the click-to-screen workload")
    ap.add_argument("--click-rate", type=float, default=10.0, help="clicks per second")
    ap.add_argument("--fullframe-encodings", default=",".join(ENCODINGS),
                    help="encodings for the full-frame encode workload")
    ap.add_argument("--fullframe-content", default="mixed", choices=["mixed", "photo", "ui"],
                    help="the still screen of the full-frame workload (mixed: photo on the top "
                         "half, terminal text below)")
    ap.add_argument("--full-frames", type=int, default=20,
                    help="timed full frames per full-frame cell (after 2 untimed)")
    ap.add_argument("--vncd-args", default="",
                    help="extra vncd arguments, one shell-quoted string (e.g. \"--threads 1\")")
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
    args.vncd_args = shlex.split(args.vncd_args)
    if args.rounds < 1 or args.full_frames < 1 or args.click_rate <= 0:
        sys.exit("run.py: --rounds and --full-frames must be >= 1, --click-rate > 0")

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
    per_workload = {"static": args.static_encodings, "click": args.click_encodings,
                    "fullframe": args.fullframe_encodings}
    encodings = {w: [e for e in per_workload.get(w, args.encodings).split(",") if e]
                 for w in workloads}
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
                wl = start_workload(
                    paths["workload"], wl_name, display, stamps, logdir,
                    ["--content", args.fullframe_content] if wl_name == "fullframe" else [])
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
                            if wl_name == "fullframe":
                                log("%-9s %-10s %-11s wall %s ms/frame, CPU %s ms/frame, "
                                    "%s KB/frame" % (wl_name, enc, srv,
                                                     fmt(row["ff_wall_p50_ms"]),
                                                     fmt(row["ff_server_cpu_ms"]),
                                                     fmt(row["ff_bytes"] / 1024, 0)))
                            else:
                                log("%-9s %-10s %-11s %6.1f upd/s %8.1f KB/upd cpu %5.1f%% "
                                    "p50 %s ms%s" % (
                                        wl_name, enc, srv, row["updates_per_s"],
                                        (row["bytes_per_update"] or 0) / 1024,
                                        row["cpu_pct"] or 0, fmt(row["lat_p50_ms"]),
                                        ", click p50 %s ms (%s/%s seen)" % (
                                            fmt(row["click_p50_ms"]),
                                            row["clicks_seen"] + row["clicks_superseded"],
                                            row["clicks_sent"]) if wl_name == "click" else ""))
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
    lines += targets(results, slow_rows, workloads, encodings, servers)
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
        if args.rounds > 1:  # the medians (and spreads) the tables show
            for key in sorted(results, key=lambda k: (workloads.index(k[0]),
                                                      encodings[k[0]].index(k[1]),
                                                      servers.index(k[2]))):
                w.writerow(results[key])
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
