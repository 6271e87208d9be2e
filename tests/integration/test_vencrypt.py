"""VeNCrypt end to end: anonymous TLS (tlsvnc, tlsnone) and X.509 (x509vnc) with a self-signed
certificate, checked with libvncclient (pixels, wrong password, wrong CA) and with TigerVNC
vncviewer (X509Vnc with -X509CA). The password file comes from `vncd --store-password`."""

import harness
from harness import VNCD


def make_cert(t, name):
    cert, key = t.path(name + ".pem"), t.path(name + "-key.pem")
    t.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
           cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
           "subjectAltName=IP:127.0.0.1"])
    return cert, key


with harness.Test("vencrypt") as t:
    display = t.xvfb("320x240x24")
    passwd = t.path("passwd")
    t.run([VNCD, "--store-password", passwd], input_bytes=b"tlsPW\n")
    reference = t.password_file("tlsPW", name="reference")
    with open(passwd, "rb") as a, open(reference, "rb") as b:
        t.check(a.read() == b.read(), "--store-password and vncpasswd -f wrote different files")
    cert, key = make_cert(t, "server")
    other_ca, _ = make_cert(t, "other")

    # Anonymous TLS, then VNC authentication.
    v = t.vncd(["--display", display, "--security", "tlsvnc", "--password-file", passwd])
    r = t.client("compare", "--port", v.port, "--display", display, "--password", "tlsPW",
                 "--pattern", "--draw", "--encoding", "zrle", "--timeout", "30")
    print("tlsvnc: " + r.stdout_text.strip().replace("\n", "; "), flush=True)
    t.client("auth-fail", "--port", v.port, "--password", "nope")
    v.wait_log("Authentication failed")
    t.stop(v.proc)

    # Anonymous TLS without authentication (loopback only, so no exposure warning).
    v = t.vncd(["--display", display, "--security", "tlsnone"])
    t.client("compare", "--port", v.port, "--display", display, "--timeout", "30")
    t.check("WARNING" not in v.log(), "exposure warning on loopback:\n" + v.log())
    t.stop(v.proc)
    print("tlsnone: ok", flush=True)

    # X.509: the right CA and password work; a wrong password or an unknown CA do not.
    v = t.vncd(["--display", display, "--security", "x509vnc", "--password-file", passwd,
                "--x509-cert", cert, "--x509-key", key])
    r = t.client("compare", "--port", v.port, "--display", display, "--password", "tlsPW",
                 "--x509-ca", cert, "--pattern", "--timeout", "30")
    print("x509vnc: " + r.stdout_text.strip().replace("\n", "; "), flush=True)
    t.client("auth-fail", "--port", v.port, "--password", "nope", "--x509-ca", cert)
    t.client("auth-fail", "--port", v.port, "--password", "tlsPW", "--x509-ca", other_ca)
    print("x509vnc: wrong password and unknown CA refused", flush=True)

    # TigerVNC vncviewer with X509Vnc: its desktop window appears only after the TLS and VNC
    # authentication handshakes succeeded.
    viewer_display = t.xvfb("800x600x24")
    viewer_env = t.env_with(display=viewer_display)
    t.spawn(["vncviewer", "-Log=*:stderr:30", "-SecurityTypes", "X509Vnc", "-X509CA", cert,
             "-passwd", passwd, "127.0.0.1::%d" % v.port], env=viewer_env,
            stderr=open(t.path("viewer.log"), "w"))

    def desktop_window():
        r = t.run(["xdotool", "search", "--onlyvisible", "--name", " - TigerVNC$"],
                  env=viewer_env, check=False, timeout=10)
        return r.stdout_text.split()

    try:
        harness.wait_until(desktop_window, 30, "vncviewer's desktop window (X509Vnc)")
    except harness.TestFailure:
        with open(t.path("viewer.log")) as f:
            print("--- vncviewer log:\n" + f.read(), flush=True)
        raise
    v.wait_log("security type 19")
    print("vncviewer X509Vnc: connected", flush=True)
