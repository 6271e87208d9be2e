"""vncd's command-line behaviour as a user sees it: one-line errors with non-zero exits, --help,
--version, and the virtual desktop mode (its own Xvfb, gone after SIGTERM)."""

import os
import re
import signal
import socket
import struct
import subprocess
import time

import harness
from harness import VNCD


def expect_one_line_error(t, args, env, must_contain, status=None):
    r = t.run([VNCD] + args, env=env, check=False, timeout=30)
    lines = r.stderr_text.splitlines()
    t.check(r.returncode != 0, "%s: exit status 0, expected an error" % args)
    if status is not None:
        t.check(r.returncode == status, "%s: exit status %d, expected %d" %
                (args, r.returncode, status))
    t.check(len(lines) == 1, "%s: expected one line on stderr, got %d:\n%s" %
            (args, len(lines), r.stderr_text))
    t.check(lines[0].startswith("vncd: "), "%s: %r does not start with 'vncd: '" %
            (args, lines[0]))
    t.check(must_contain.lower() in lines[0].lower(), "%s: %r does not mention %r" %
            (args, lines[0], must_contain))
    t.check(r.stdout_text == "", "%s: unexpected stdout %r" % (args, r.stdout_text))
    print("ok: %s -> %s (exit %d)" % (" ".join(args), lines[0], r.returncode), flush=True)


with harness.Test("cli") as t:
    env = t.env_with(unset_display=True)

    # Bad flags and values: usage errors, exit status 2.
    expect_one_line_error(t, ["--foo"], env, "unknown option --foo", status=2)
    expect_one_line_error(t, ["--port", "70000"], env, "--port needs a number between 0 and 65535",
                          status=2)
    expect_one_line_error(t, ["-passwd", "secret"], env, "unknown option -passwd", status=2)
    expect_one_line_error(t, ["--virtual", "big"], env, "--virtual", status=2)

    # Environment errors: exit status 1.
    expect_one_line_error(t, ["--display", ":99999", "--port", "0", "--localhost"], env, ":99999",
                          status=1)
    expect_one_line_error(t, ["--display", ":0", "--password-file", t.path("missing")], env,
                          "missing", status=1)
    bad_passwd = t.path("bad-passwd")
    with open(bad_passwd, "wb") as f:
        f.write(b"short")
    expect_one_line_error(t, ["--display", ":0", "--password-file", bad_passwd], env,
                          "bad-passwd", status=1)

    expect_one_line_error(t, ["--display", ":0", "--security", "x509none", "--x509-cert",
                              t.path("no-cert.pem"), "--x509-key", t.path("no-key.pem")], env,
                          "no-cert.pem", status=1)
    expect_one_line_error(t, ["--display", ":0", "--security", "plain", "--plain-users", "bob"],
                          env, "--allow-plain-unencrypted", status=1)
    r = t.run([VNCD, "--store-password", t.path("empty")], env=env, input_bytes=b"\n",
              check=False)
    t.check(r.returncode == 1 and not os.path.exists(t.path("empty")),
            "--store-password with an empty password: exit %d" % r.returncode)

    display = t.xvfb("320x240x24")
    # A port in use: hold one, then ask vncd for it.
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    busy = holder.getsockname()[1]
    expect_one_line_error(t, ["--display", display, "--listen", "127.0.0.1", "--port", str(busy)],
                          env, "port %d" % busy, status=1)
    holder.close()

    # No Xvfb in PATH and no display: the install hint.
    expect_one_line_error(t, ["--port", "0", "--localhost"], dict(env, PATH="/nonexistent"),
                          "apt-get install xvfb", status=1)

    # No credentials on a public address: vncd refuses to start (before opening any display).
    for args in (["--port", "0"], ["--port", "0", "--listen", "::"],
                 ["--port", "0", "--x509-cert", "c.pem", "--x509-key", "k.pem"]):
        expect_one_line_error(t, args, env, "refusing to serve without authentication on",
                              status=2)

    r = t.run([VNCD, "--version"], env=env)
    t.check(re.fullmatch(r"vncd \d+\.\d+\.\d+\n", r.stdout_text), "--version printed %r" %
            r.stdout_text)
    r = t.run([VNCD, "--help"], env=env)
    t.check(r.stdout_text.startswith("Usage: vncd"), "--help printed %r" % r.stdout_text[:80])
    for flag in ["--display", "--port", "--password-file", "--virtual", "-rfbauth"]:
        t.check(flag in r.stdout_text, "--help does not mention %s" % flag)
    t.check(r.stderr_text == "", "--help wrote to stderr: %r" % r.stderr_text)
    print("ok: --version, --help", flush=True)

    # --view-only: pointer events from clients are ignored. --name sets the desktop name.
    # --once: vncd exits (0) when its first client leaves.
    served_env = t.env_with(display=display)

    def pointer():
        out = t.run(["xdotool", "getmouselocation", "--shell"], env=served_env).stdout_text
        return tuple(int(x) for x in re.findall(r"^[XY]=(\d+)", out, re.M))

    t.run(["xdotool", "mousemove", "10", "10"], env=served_env)
    v = t.vncd(["--display", display, "--view-only", "--once", "--name", "cli test desk"], env=env)
    sock, w, h, name = harness.rfb_connect_none(v.port)
    t.check((w, h) == (320, 240), "ServerInit says %dx%d" % (w, h))
    t.check(name == "cli test desk", "desktop name is %r" % name)
    sock.sendall(struct.pack(">BBHH", 5, 0, 200, 150))  # PointerEvent to (200, 150)
    sock.sendall(struct.pack(">BBHH", 5, 0, 201, 151))
    time.sleep(1.0)
    t.check(v.proc.poll() is None, "vncd exited while the client was connected")
    t.check(pointer() == (10, 10), "--view-only: the pointer moved to %s" % (pointer(),))
    sock.close()
    try:
        status = v.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        raise harness.TestFailure("--once: vncd still runs after its client left")
    t.check(status == 0, "--once: vncd exited with %d" % status)
    # The same without --view-only: the pointer does move (so the check above can fail).
    v = t.vncd(["--display", display], env=env)
    sock, _, _, _ = harness.rfb_connect_none(v.port)
    sock.sendall(struct.pack(">BBHH", 5, 0, 200, 150))
    harness.wait_until(lambda: pointer() == (200, 150), 10, "the pointer to move to (200, 150)")
    sock.close()
    t.stop(v.proc)
    print("ok: --view-only, --name, --once", flush=True)

    # Virtual desktop mode: no DISPLAY, vncd starts its own 640x480 Xvfb.
    v = t.vncd(["--virtual", "640x480", "--session", "none"], env=env)
    r = t.client("compare", "--port", v.port, "--expect-size", "640x480", "--timeout", "30")
    print(r.stdout_text.strip(), flush=True)
    xvfbs = [pid for pid in harness.children_of(v.proc.pid) if harness.process_name(pid) == "Xvfb"]
    t.check(len(xvfbs) == 1, "expected one Xvfb child of vncd, found %s" % xvfbs)
    m = re.search(r"virtual desktop on (:\d+)", v.log())
    t.check(m, "vncd did not log its virtual display:\n" + v.log())
    socket_path = "/tmp/.X11-unix/X" + m.group(1)[1:]
    t.check(os.path.exists(socket_path), "%s does not exist" % socket_path)

    v.proc.send_signal(signal.SIGTERM)
    try:
        status = v.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        raise harness.TestFailure("vncd did not exit within 20 s of SIGTERM")
    t.check(status == 0, "vncd exited with %d after SIGTERM, expected 0" % status)
    harness.wait_until(lambda: not harness.process_alive(xvfbs[0]), 10, "vncd's Xvfb to exit")
    harness.wait_until(lambda: not os.path.exists(socket_path), 10,
                       "the virtual display's socket to go")
    print("ok: virtual desktop served at 640x480; SIGTERM -> exit 0, Xvfb gone", flush=True)

    # The default session (xterm) runs inside the virtual desktop and is stopped with it.
    if os.path.exists("/usr/bin/xterm"):
        v = t.vncd(["--virtual", "320x200"], env=env)
        xterm = harness.wait_until(
            lambda: [p for p in harness.children_of(v.proc.pid)
                     if harness.process_name(p) in ("sh", "xterm")], 10, "the session to start")
        v.proc.send_signal(signal.SIGINT)
        t.check(v.proc.wait(timeout=20) == 0, "vncd did not exit 0 on SIGINT")
        harness.wait_until(lambda: not any(harness.process_alive(p) for p in xterm), 10,
                           "the session to be stopped")
        print("ok: default session started and stopped; SIGINT -> exit 0", flush=True)
