"""A gtk-vnc viewer for vncd's integration tests: a Gtk.Window holding a GtkVnc.Display on the
X display in $DISPLAY, connected to 127.0.0.1:PORT. It answers vnc-auth-credential with the
given password and user name, waits for vnc-initialized, then for the framebuffer (get_pixbuf())
to equal the expected picture, a packed RGB file of the served desktop.

Prints one line, `RESULT <what> <detail>`, and exits with:
  0 the framebuffer equals the expected picture      (RESULT ok)
  2 vnc-auth-failure                                 (RESULT auth-failure <reason>)
  3 vnc-disconnected before vnc-initialized          (RESULT disconnected <last vnc-error>)
  4 the picture never matched                        (RESULT mismatch <count of wrong pixels>)
  5 timed out before vnc-initialized                 (RESULT timeout <last signal seen>)
  6 vnc-auth-unsupported or a credential not given   (RESULT unsupported <reason>)

Runs with the system python3 (python3-gi, gir1.2-gtk-vnc-2.0); gtk-vnc 1.3.1 takes its X.509
CA from /etc/pki/CA/cacert.pem or ~/.pki/CA/cacert.pem of the passwd-file home, so the test
runs this script as an account whose home holds the CA it wants."""

import argparse
import sys
import warnings

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("GtkVnc", "2.0")
from gi.repository import GLib, Gtk, GtkVnc  # noqa: E402


class Viewer:
    def __init__(self, args):
        self.args = args
        with open(args.expect, "rb") as f:
            self.expected = f.read()
        self.outcome = None
        self.errors = []
        self.last_signal = "none"
        self.initialized = False
        self.wrong = None

        self.window = Gtk.Window(title="vncd gtk-vnc test")
        self.display = GtkVnc.Display()
        # Exact pictures: no lossy encodings, the server's full colour depth.
        self.display.set_lossy_encoding(False)
        self.display.set_depth(GtkVnc.DisplayDepthColor.FULL)
        self.display.set_scaling(False)
        self.display.set_pointer_local(True)
        self.window.add(self.display)
        self.window.show_all()

        for name in ("vnc-connected", "vnc-initialized", "vnc-disconnected", "vnc-error",
                     "vnc-auth-credential", "vnc-auth-failure", "vnc-auth-unsupported"):
            self.display.connect(name, self.on_signal, name)

        GLib.timeout_add(int(args.timeout * 1000), self.on_timeout)
        if not self.display.open_host("127.0.0.1", str(args.port)):
            self.finish(3, "disconnected", "open_host failed")

    def finish(self, code, what, detail=""):
        if self.outcome is None:
            self.outcome = (code, what, detail)
            Gtk.main_quit()

    def on_signal(self, display, *rest):
        name = rest[-1]
        values = rest[:-1]
        self.last_signal = name
        if name == "vnc-error":
            self.errors.append(str(values[0]))
        elif name == "vnc-auth-credential":
            self.answer_credentials(values[0])
        elif name == "vnc-auth-failure":
            self.finish(2, "auth-failure", str(values[0]))
        elif name == "vnc-auth-unsupported":
            self.finish(6, "unsupported", "security type %s" % values[0])
        elif name == "vnc-initialized":
            self.initialized = True
            # Poll the framebuffer; updates arrive after initialisation.
            GLib.timeout_add(100, self.compare)
        elif name == "vnc-disconnected":
            if not self.initialized:
                self.finish(3, "disconnected", " | ".join(self.errors) or "no vnc-error")
            else:
                self.finish(4, "mismatch", "disconnected after init; %s wrong pixels, errors: %s"
                            % (self.wrong, " | ".join(self.errors) or "none"))

    def answer_credentials(self, credentials):
        # A GValueArray of GtkVnc.DisplayCredential values.
        for i in range(credentials.n_values):
            with warnings.catch_warnings():  # GValueArray is deprecated, but it is the API.
                warnings.simplefilter("ignore", DeprecationWarning)
                value = credentials.get_nth(i)
            kind = int(value.get_enum() if hasattr(value, "get_enum") else value)
            if kind == GtkVnc.DisplayCredential.PASSWORD and self.args.password is not None:
                ok = self.display.set_credential(kind, self.args.password)
            elif kind == GtkVnc.DisplayCredential.USERNAME and self.args.user is not None:
                ok = self.display.set_credential(kind, self.args.user)
            elif kind == GtkVnc.DisplayCredential.CLIENTNAME:
                ok = self.display.set_credential(kind, "vncd-gtkvnc-test")
            else:
                self.display.close()
                self.finish(6, "unsupported", "asked for credential %d, which was not given"
                            % kind)
                return
            if ok:  # vnc_display_set_credential returns TRUE on error.
                self.display.close()
                self.finish(6, "unsupported", "set_credential(%d) failed" % kind)
                return

    def compare(self):
        if self.outcome is not None:
            return False
        pixbuf = self.display.get_pixbuf()
        if pixbuf is None:
            return True
        width, height = pixbuf.get_width(), pixbuf.get_height()
        if (width, height) != (self.args.width, self.args.height):
            self.wrong = "size %dx%d" % (width, height)
            return True
        stride, channels = pixbuf.get_rowstride(), pixbuf.get_n_channels()
        data = pixbuf.get_pixels()
        rows = []
        for y in range(height):
            row = data[y * stride:y * stride + width * channels]
            if channels == 4:
                row = bytes(b for i, b in enumerate(row) if i % 4 != 3)
            rows.append(bytes(row))
        got = b"".join(rows)
        if got == self.expected:
            self.finish(0, "ok", "%dx%d" % (width, height))
            return False
        self.wrong = sum(1 for i in range(0, len(got), 3)
                         if got[i:i + 3] != self.expected[i:i + 3])
        return True

    def on_timeout(self):
        if self.initialized:
            self.finish(4, "mismatch", "%s wrong pixels" % self.wrong)
        else:
            self.finish(5, "timeout", "last signal %s, errors: %s"
                        % (self.last_signal, " | ".join(self.errors) or "none"))
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--password")
    parser.add_argument("--user")
    parser.add_argument("--expect", required=True, help="packed RGB of the served desktop")
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=20)
    args = parser.parse_args()

    viewer = Viewer(args)
    if viewer.outcome is None:
        Gtk.main()
    viewer.display.close()
    code, what, detail = viewer.outcome
    print("RESULT %s %s" % (what, detail), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
