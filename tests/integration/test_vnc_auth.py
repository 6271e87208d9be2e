"""VNC authentication with a `vncpasswd -f` file: the right password gets in (libvncclient), a
wrong one is refused and vncd logs "Authentication failed"; vncd keeps serving afterwards."""

import harness

with harness.Test("vnc_auth") as t:
    display = t.xvfb("320x240x24")
    passwd = t.password_file("s3cret!")
    v = t.vncd(["--display", display, "--password-file", passwd])

    r = t.client("compare", "--port", v.port, "--display", display, "--password", "s3cret!",
                 "--pattern", "--timeout", "30")
    print(r.stdout_text.strip(), flush=True)

    r = t.client("auth-fail", "--port", v.port, "--password", "wrong", timeout=60)
    print(r.stdout_text.strip(), flush=True)
    v.wait_log("Authentication failed", timeout=10)

    # A password that only shares a prefix with the right one is refused too.
    r = t.client("auth-fail", "--port", v.port, "--password", "s3cre", timeout=60)

    # The server still works for the right password after failures.
    r = t.client("compare", "--port", v.port, "--display", display, "--password", "s3cret!",
                 "--timeout", "30")
    t.check(v.proc.poll() is None, "vncd exited during the test")
    print("ok: right password accepted, wrong ones refused", flush=True)
