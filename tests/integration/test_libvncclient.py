"""libvncclient in four pixel formats (32 bpp, 16 bpp RGB565, 8 bpp BGR233, big-endian 32 bpp)
asking for Raw: its framebuffer must equal XGetImage of the served display at the format's
precision, first for a test pattern and then after another X client changed the screen."""

import harness

with harness.Test("libvncclient") as t:
    display = t.xvfb("640x480x24")
    v = t.vncd(["--display", display, "--security", "none"])
    for fmt in ["32", "16", "8", "be32"]:
        r = t.client("compare", "--port", v.port, "--display", display, "--format", fmt,
                     "--pattern", "--draw", "--timeout", "40", timeout=90)
        print(r.stdout_text.strip(), flush=True)
        t.check("OK 640x480" in r.stdout_text, "client did not report OK: " + r.stdout_text)
    t.check(v.proc.poll() is None, "vncd exited during the test")
    # Several clients at once (shared): each sees the same screen.
    clients = [t.spawn([harness.CLIENT, "compare", "--port", str(v.port), "--display", display,
                        "--format", fmt, "--timeout", "40"],
                       stdout=harness.subprocess.PIPE, stderr=harness.subprocess.PIPE)
               for fmt in ["32", "16"]]
    for c in clients:
        try:
            out, err = c.communicate(timeout=90)
        except harness.subprocess.TimeoutExpired:
            raise harness.TestFailure("a concurrent client did not finish")
        t.check(c.returncode == 0, "concurrent client failed: %s %s" % (out, err))
    print("ok: two concurrent clients", flush=True)
