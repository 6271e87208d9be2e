"""gtk-vnc 1.3.1 (GtkVnc.Display through GObject introspection, gtkvnc_client.py) against vncd's
security types: None, VNC auth (right password; a wrong one fails with vnc-auth-failure and vncd
goes on serving), VeNCrypt TLSNone, TLSVnc, TLSPlain, X509None, X509Vnc and X509Plain (Plain
through PAM with a real account made for the test, removed afterwards; a wrong password fails).
The viewer's framebuffer must equal the served desktop (a two-colour tiled pattern, read back
with xwd) pixel for pixel. A certificate the viewer cannot trust (another CA, or none at all)
must end the connection before the desktop, with vncd logging no login.

gtk-vnc takes its CA only from /etc/pki/CA/cacert.pem or ~/.pki/CA/cacert.pem of the passwd-file
home (not $HOME), so the viewer runs as the test account, whose home (in the test's temporary
folder) holds the CA each case wants. Plain over an unencrypted channel is not tested: gtk-vnc
1.3.1 hangs there waiting for a byte only TLS types send."""

import os
import pwd
import shutil
import subprocess
import sys

import harness

USER = "vncdgtkvnc"
USER_PASSWORD = "Gtk-Vnc-Test-PW-3"
VNC_PASSWORD = "gtkPW9"
SERVED = (320, 240)
FG, BG = "#3366cc", "#ffcc00"
HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_SCRIPT = os.path.join(HERE, "gtkvnc_client.py")
SYSTEM_CA = "/etc/pki/CA/cacert.pem"

# A 16x16 tile that is not symmetric in x or y, so flips, shifts and swapped channels all show.
PATTERN = """#define tile_width 16
#define tile_height 16
static unsigned char tile_bits[] = {
   0x01, 0x00, 0x03, 0x00, 0x07, 0x00, 0x0f, 0x00, 0x1f, 0x80, 0x3f, 0xc0,
   0x7f, 0xe0, 0xff, 0xf0, 0x00, 0x0f, 0x00, 0x07, 0x00, 0x03, 0xf0, 0x01,
   0x0f, 0x00, 0xff, 0x00, 0x0f, 0xf0, 0x00, 0xff };
"""


def gi_python():
    """An interpreter that has python3-gi (pyenv or venv interpreters on PATH may not)."""
    probe = "import gi; gi.require_version('GtkVnc', '2.0'); from gi.repository import GtkVnc"
    for candidate in (sys.executable, "/usr/bin/python3"):
        if candidate and subprocess.run([candidate, "-c", probe], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, timeout=30).returncode == 0:
            return candidate
    raise harness.TestFailure("no python3 with python3-gi and gir1.2-gtk-vnc-2.0 found")


def served_rgb(t, display):
    """The served root window as packed RGB bytes (xwd, then ImageMagick)."""
    xwd = t.path("served.xwd")
    t.run(["xwd", "-root", "-silent", "-display", display, "-out", xwd])
    rgb = t.run(["convert", "xwd:" + xwd, "-depth", "8", "rgb:-"]).stdout
    t.check(len(rgb) == SERVED[0] * SERVED[1] * 3, "xwd read %d bytes" % len(rgb))
    return rgb


def logins_of(v):
    """vncd's "client ... authenticated (...)" log lines."""
    return [line for line in v.log().splitlines() if " authenticated (" in line]


class Client:
    """Runs gtkvnc_client.py as the test account, with its home holding a chosen CA (or none)."""

    def __init__(self, t, python, viewer_display, expect_path):
        self.t = t
        self.python = python
        self.viewer_display = viewer_display
        self.expect_path = expect_path
        self.account = pwd.getpwnam(USER)
        self.home = self.account.pw_dir

    def install_ca(self, ca):
        ca_dir = os.path.join(self.home, ".pki", "CA")
        shutil.rmtree(os.path.join(self.home, ".pki"), ignore_errors=True)
        if ca is None:
            return
        os.makedirs(ca_dir)
        shutil.copy(ca, os.path.join(ca_dir, "cacert.pem"))
        for path in (os.path.join(self.home, ".pki"), ca_dir,
                     os.path.join(ca_dir, "cacert.pem")):
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def run(self, tag, v, ca=None, password=None, user=None, timeout=20):
        self.install_ca(ca)
        args = [self.python, os.path.join(self.home, "gtkvnc_client.py"), "--port", str(v.port),
                "--expect", self.expect_path, "--width", str(SERVED[0]), "--height",
                str(SERVED[1]), "--timeout", str(timeout)]
        if password is not None:
            args += ["--password", password]
        if user is not None:
            args += ["--user", user]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
               "USER": USER, "LOGNAME": USER, "DISPLAY": self.viewer_display,
               "GDK_BACKEND": "x11", "NO_AT_BRIDGE": "1", "PYTHONDONTWRITEBYTECODE": "1",
               "XDG_RUNTIME_DIR": os.path.join(self.home, "runtime")}
        before = len(logins_of(v))
        try:
            r = subprocess.run(args, env=env, cwd=self.home, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout + 15, start_new_session=True,
                               user=self.account.pw_uid, group=self.account.pw_gid,
                               extra_groups=[])
        except subprocess.TimeoutExpired:
            raise harness.TestFailure("%s: the gtk-vnc client did not finish within %d s" %
                                      (tag, timeout + 15))
        out = r.stdout.decode(errors="replace")
        err = r.stderr.decode(errors="replace")
        result = [line for line in out.splitlines() if line.startswith("RESULT ")]
        if not result:
            raise harness.TestFailure("%s: the gtk-vnc client printed no result (exit %d)\n"
                                      "stdout: %s\nstderr: %s" % (tag, r.returncode, out, err))
        return r.returncode, result[-1][len("RESULT "):], err, logins_of(v)[before:]

    def expect_desktop(self, tag, v, login, **kw):
        """login: what vncd's "authenticated (...)" line must say, e.g. "security type 19"."""
        code, result, err, logins = self.run(tag, v, **kw)
        self.t.check(code == 0, "%s: expected the served picture, got %r (exit %d)\nstderr: %s"
                     % (tag, result, code, err))
        self.t.check(len(logins) == 1 and login in logins[0],
                     "%s: expected one vncd login with %r, got %r" % (tag, login, logins))
        print("%s: framebuffer equals the served desktop (%s)" % (tag, result), flush=True)

    def expect_refusal(self, tag, v, code_wanted, text_wanted, **kw):
        code, result, err, logins = self.run(tag, v, **kw)
        self.t.check(code == code_wanted and text_wanted.lower() in result.lower(),
                     "%s: expected exit %d with %r, got %r (exit %d)\nstderr: %s"
                     % (tag, code_wanted, text_wanted, result, code, err))
        self.t.check(not logins, "%s: vncd let the client in: %r" % (tag, logins))
        self.t.check(v.proc.poll() is None, "%s: vncd exited" % tag)
        print("%s: refused cleanly (%s)" % (tag, result), flush=True)


with harness.Test("gtkvnc") as t:
    t.check(not os.path.exists(SYSTEM_CA), "%s exists: gtk-vnc would trust it instead of the "
            "test's CA; the untrusted-certificate cases need it absent" % SYSTEM_CA)
    python = gi_python()
    subprocess.run(["userdel", USER], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The account's home is in the test's temporary folder: make that folder traversable.
    os.chmod(t.tmp, 0o711)
    home = t.path("home")
    t.run(["useradd", "-M", "-d", home, "-s", "/usr/sbin/nologin", USER])
    try:
        t.run(["chpasswd"], input_bytes=("%s:%s\n" % (USER, USER_PASSWORD)).encode())
        account = pwd.getpwnam(USER)
        os.makedirs(os.path.join(home, "runtime"), mode=0o700)
        shutil.copy(CLIENT_SCRIPT, os.path.join(home, "gtkvnc_client.py"))
        for path in (home, os.path.join(home, "runtime"), os.path.join(home, "gtkvnc_client.py")):
            os.chown(path, account.pw_uid, account.pw_gid)

        served = t.xvfb("%dx%dx24" % SERVED)
        viewer_display = t.xvfb("800x600x24")
        pattern = t.path("tile.xbm")
        with open(pattern, "w") as f:
            f.write(PATTERN)
        t.run(["xsetroot", "-bitmap", pattern, "-fg", FG, "-bg", BG],
              env=t.env_with(display=served))
        expect_path = os.path.join(home, "expected.rgb")
        rgb = served_rgb(t, served)
        t.check(rgb.count(bytes.fromhex(FG[1:])) > 0 and rgb.count(bytes.fromhex(BG[1:])) > 0,
                "the served desktop does not show the pattern")
        with open(expect_path, "wb") as f:
            f.write(rgb)
        os.chown(expect_path, account.pw_uid, account.pw_gid)

        ca, cert, key = t.make_ca_and_cert("server")
        other_ca, _, _ = t.make_ca_and_cert("other")
        passwd = t.password_file(VNC_PASSWORD)
        c = Client(t, python, viewer_display, expect_path)

        v = t.vncd(["--display", served, "--security", "none"])
        c.expect_desktop("none", v, "security type 1)")

        v = t.vncd(["--display", served, "--security", "vncauth", "--password-file", passwd])
        c.expect_desktop("vncauth", v, "security type 2)", password=VNC_PASSWORD)
        c.expect_refusal("vncauth-wrong", v, 2, "auth-failure", password="wrong-one")
        v.wait_log("failed authentication", timeout=10)
        c.expect_desktop("vncauth-again", v, "security type 2)", password=VNC_PASSWORD)

        v = t.vncd(["--display", served, "--security", "tlsvnc", "--password-file", passwd])
        c.expect_desktop("tlsvnc", v, "security type 19)", password=VNC_PASSWORD)

        # Only X509Vnc: offered both, gtk-vnc picks X509Plain whatever the server's order.
        v = t.vncd(["--display", served, "--security", "x509vnc", "--password-file", passwd,
                    "--x509-cert", cert, "--x509-key", key])
        c.expect_desktop("x509vnc", v, "security type 19)", ca=ca, password=VNC_PASSWORD)
        c.expect_refusal("x509vnc-other-ca", v, 3, "certificate is not trusted", ca=other_ca,
                         password=VNC_PASSWORD)
        c.expect_refusal("x509vnc-no-ca", v, 3, "certificate is not trusted", ca=None,
                         password=VNC_PASSWORD)
        c.expect_desktop("x509vnc-again", v, "security type 19)", ca=ca, password=VNC_PASSWORD)

        for security in ("tlsnone", "tlsplain", "x509none"):
            v = t.vncd(["--display", served, "--security", security, "--x509-cert", cert,
                        "--x509-key", key, "--plain-users", USER])
            if "plain" in security:
                c.expect_desktop(security, v, "security type 19, user %s)" % USER, ca=ca,
                                 user=USER, password=USER_PASSWORD)
            else:  # No credentials: the client fails if it is asked for any.
                c.expect_desktop(security, v, "security type 19)", ca=ca)

        v = t.vncd(["--display", served, "--security", "x509plain", "--x509-cert", cert,
                    "--x509-key", key, "--plain-users", USER])
        c.expect_desktop("x509plain", v, "security type 19, user %s)" % USER, ca=ca,
                         user=USER, password=USER_PASSWORD)
        c.expect_refusal("x509plain-wrong", v, 2, "auth-failure", ca=ca, user=USER,
                         password="not-the-password")
        v.wait_log("failed authentication", timeout=10)
        c.expect_desktop("x509plain-again", v, "security type 19, user %s)" % USER, ca=ca,
                         user=USER, password=USER_PASSWORD)

        for each in t.vncds:
            t.check(each.proc.poll() is None, "a vncd exited during the test")
    finally:
        subprocess.run(["userdel", USER], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
