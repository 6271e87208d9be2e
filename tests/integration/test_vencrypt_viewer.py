"""TigerVNC vncviewer against every VeNCrypt subtype vncd serves: TLSNone, TLSVnc, TLSPlain,
X509None, X509Vnc and X509Plain (with -X509CA the test CA), Plain types through PAM with a real
local account made for the test (useradd, removed afterwards). Each viewer must show the served
desktop (its colour, read back with xwd). A wrong password and an untrusted certificate must fail
without a desktop, and vncd must go on serving the next viewer."""

import os
import subprocess

import harness

USER = "vncdtest"
USER_PASSWORD = "Vncd-Test-PW-7"
COLOUR = (0x33, 0x66, 0xCC)
SERVED = (320, 240)


def colour_pixels(t, display):
    """How many pixels of the display's root window have COLOUR."""
    xwd = t.path("screen.xwd")
    t.run(["xwd", "-root", "-silent", "-display", display, "-out", xwd])
    rgb = t.run(["convert", "xwd:" + xwd, "-depth", "8", "rgb:-"]).stdout
    want = bytes(COLOUR)
    return sum(1 for i in range(0, len(rgb) - 2, 3) if rgb[i:i + 3] == want)


def desktop_window(t, env):
    r = t.run(["xdotool", "search", "--onlyvisible", "--name", " - TigerVNC$"], env=env,
              check=False, timeout=10)
    return r.stdout_text.split()


def viewer(t, v, viewer_display, tag, security, extra=(), env_extra=None):
    env = t.env_with(display=viewer_display, HOME=t.path("home-" + tag), **(env_extra or {}))
    os.makedirs(env["HOME"], exist_ok=True)
    log = open(t.path("viewer-%s.log" % tag), "w")
    p = t.spawn(["vncviewer", "-Log=*:stderr:30", "-SecurityTypes", security] + list(extra) +
                ["127.0.0.1::%d" % v.port], env=env, stderr=log)
    return p, env


def viewer_log(t, tag):
    with open(t.path("viewer-%s.log" % tag), errors="replace") as f:
        return f.read()


def expect_desktop(t, v, viewer_display, tag, security, extra=(), env_extra=None):
    before = v.log().count("authenticated (")
    p, env = viewer(t, v, viewer_display, tag, security, extra, env_extra)
    try:
        harness.wait_until(lambda: desktop_window(t, env), 20, "the %s desktop window" % tag)
        harness.wait_until(lambda: colour_pixels(t, viewer_display) >= SERVED[0] * SERVED[1],
                           10, "the served colour in the %s viewer" % tag, interval=0.3)
    except harness.TestFailure:
        print("--- vncviewer log:\n" + viewer_log(t, tag), flush=True)
        raise
    t.check(v.log().count("authenticated (") == before + 1, "%s: vncd logged no login" % tag)
    harness.Test.stop(p)
    print("%s: desktop shown" % tag, flush=True)


def expect_refusal(t, v, viewer_display, tag, security, log_text, extra=(), env_extra=None):
    """log_text: what vncd logs for the refusal, or None when only the viewer knows (it refuses
    the certificate after the TLS handshake, and then never answers)."""
    before = v.log().count("authenticated (")
    connected = v.log().count(" connected")
    p, env = viewer(t, v, viewer_display, tag, security, extra, env_extra)
    if log_text is not None:
        harness.wait_until(lambda: v.log().lower().count(log_text.lower()) >
                           expect_refusal.seen.get(log_text, 0), 20, "%s to be refused" % tag)
        expect_refusal.seen[log_text] = v.log().lower().count(log_text.lower())
    else:
        harness.wait_until(lambda: v.log().count(" connected") > connected, 20,
                           "the %s viewer to connect" % tag)
        # The viewer checks the certificate right after the handshake and then stops (asking
        # its user); give it the time a trusted one needed to show its desktop, and more.
        harness.time.sleep(2)
    harness.time.sleep(1)
    t.check(not desktop_window(t, env), "%s: a desktop window appeared" % tag)
    harness.Test.stop(p)
    t.check(v.log().count("authenticated (") == before, "%s: vncd let the client in" % tag)
    print("%s: refused" % tag, flush=True)


expect_refusal.seen = {}


with harness.Test("vencrypt_viewer") as t:
    subprocess.run(["userdel", USER], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.run(["useradd", "-M", "-s", "/usr/sbin/nologin", USER])
    try:
        t.run(["chpasswd"], input_bytes=("%s:%s\n" % (USER, USER_PASSWORD)).encode())
        served = t.xvfb("%dx%dx24" % SERVED)
        viewer_display = t.xvfb("800x600x24")
        t.run(["xsetroot", "-solid", "#%02x%02x%02x" % COLOUR], env=t.env_with(display=served))
        ca, cert, key = t.make_ca_and_cert("server")
        other_ca, _, _ = t.make_ca_and_cert("other")
        passwd = t.password_file("tlsPW")
        wrong = t.password_file("nope", name="wrong")

        v = t.vncd(["--display", served, "--security",
                    "x509plain,x509vnc,x509none,tlsplain,tlsvnc,tlsnone", "--password-file",
                    passwd, "--x509-cert", cert, "--x509-key", key, "--plain-users", USER])
        plain_env = {"VNC_USERNAME": USER, "VNC_PASSWORD": USER_PASSWORD}
        expect_desktop(t, v, viewer_display, "tlsnone", "TLSNone")
        expect_desktop(t, v, viewer_display, "tlsvnc", "TLSVnc", ["-passwd", passwd])
        expect_desktop(t, v, viewer_display, "x509none", "X509None", ["-X509CA", ca])
        expect_desktop(t, v, viewer_display, "x509vnc", "X509Vnc", ["-X509CA", ca, "-passwd",
                                                                    passwd])
        expect_desktop(t, v, viewer_display, "x509plain", "X509Plain", ["-X509CA", ca],
                       plain_env)
        expect_desktop(t, v, viewer_display, "tlsplain", "TLSPlain", [], plain_env)

        expect_refusal(t, v, viewer_display, "tlsvnc-wrong", "TLSVnc", "failed authentication",
                       ["-passwd", wrong])
        expect_refusal(t, v, viewer_display, "x509plain-wrong", "X509Plain",
                       "failed authentication", ["-X509CA", ca],
                       {"VNC_USERNAME": USER, "VNC_PASSWORD": "not-it"})
        expect_refusal(t, v, viewer_display, "x509-untrusted", "X509Vnc", None,
                       ["-X509CA", other_ca, "-passwd", passwd])

        # Still serving after the failures.
        expect_desktop(t, v, viewer_display, "x509vnc-again", "X509Vnc",
                       ["-X509CA", ca, "-passwd", passwd])
        t.check(v.proc.poll() is None, "vncd exited during the test")
    finally:
        subprocess.run(["userdel", USER], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
