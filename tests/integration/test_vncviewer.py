"""TigerVNC vncviewer, running on a second Xvfb, drives the served desktop: text typed into the
viewer window (with xdotool, on the viewer's display) must arrive in an xterm on the served
display, shifted characters included, and a click in the viewer must arrive as a button press at
the same position, and the clipboard must travel both ways; the viewer uses the ContinuousUpdates
and Fence extensions. Run without and with VNC authentication."""

import os
import re

import harness

TEXT = "Hello, World! 123 _@"


def viewer_window(t, env):
    """The id of vncviewer's desktop window on the viewer display."""
    def find():
        r = t.run(["xdotool", "search", "--onlyvisible", "--name", "TigerVNC"], env=env,
                  check=False, timeout=10)
        ids = r.stdout_text.split()
        # The desktop window is titled "<desktop name> - TigerVNC"; dialogs are other windows.
        for wid in ids:
            name = t.run(["xdotool", "getwindowname", wid], env=env, check=False,
                         timeout=10).stdout_text
            if name.strip().endswith("- TigerVNC"):
                return wid
        return None

    return harness.wait_until(find, 30, "vncviewer's desktop window")


def session(t, served, viewer_display, extra_vncd_args, extra_viewer_args, tag,
            check_extensions=False):
    served_env = t.env_with(display=served)
    viewer_env = t.env_with(display=viewer_display)
    typed = t.path("typed-%s.txt" % tag)

    # A terminal on the served side that writes what it receives to a file.
    t.spawn(["xterm", "-geometry", "60x10+0+0", "-title", "sink-%s" % tag, "-e", "sh", "-c",
             "stty -echo; cat > %s" % typed], env=served_env)
    harness.wait_until(lambda: os.path.exists(typed), 15, "the served xterm to start")
    sink = harness.wait_until(
        lambda: t.run(["xdotool", "search", "--name", "sink-%s" % tag], env=served_env,
                      check=False, timeout=10).stdout_text.split(), 15, "the sink window")[0]
    # No window manager on the served display: give the terminal the keyboard focus (and keep
    # the pointer over it, as focus may follow the pointer without a window manager).
    t.run(["xdotool", "mousemove", "--window", sink, "20", "20"], env=served_env)
    t.run(["xdotool", "windowfocus", "--sync", sink], env=served_env)

    v = t.vncd(["--display", served] + extra_vncd_args)
    viewer = t.spawn(["vncviewer", "-Log=*:stderr:30", "-PreferredEncoding", "Raw",
                      "-AutoSelect=0", "-FullColor=1", "-NoJPEG=1", "-Shared=1"] +
                     extra_viewer_args + ["127.0.0.1::%d" % v.port],
                     env=viewer_env, stderr=open(t.path("viewer-%s.log" % tag), "w"))
    try:
        wid = viewer_window(t, viewer_env)
    except harness.TestFailure:
        with open(t.path("viewer-%s.log" % tag)) as f:
            print("--- vncviewer log:\n" + f.read(), flush=True)
        raise
    t.check(viewer.poll() is None, "vncviewer exited")
    # Without a window manager, focus the viewer explicitly before typing.
    t.run(["xdotool", "windowraise", wid], env=viewer_env)
    # The viewer appears under the pointer (Xvfb starts it mid-screen), so it never saw the
    # pointer enter and ignores motion until it does: leave the window and come back.
    t.run(["xdotool", "mousemove", "1279", "1023"], env=viewer_env)
    harness.time.sleep(0.2)
    t.run(["xdotool", "mousemove", "--window", wid, "200", "200"], env=viewer_env)
    t.run(["xdotool", "windowfocus", "--sync", wid], env=viewer_env)
    # vncviewer 1.12 (FLTK) without a window manager forwards pointer motion only after it has
    # seen a button press in its window: click once on an empty part of the served desktop
    # (the root window, away from the terminal).
    t.run(["xdotool", "mousemove", "--window", wid, "700", "500", "click", "1"], env=viewer_env)
    harness.time.sleep(0.5)  # Let the viewer finish its first update and settle its grabs.

    # Real (XTEST) key events to the focused viewer; xdotool's --window would send synthetic
    # events, which toolkits may ignore.
    t.run(["xdotool", "type", "--delay", "60", TEXT], env=viewer_env, timeout=60)
    t.run(["xdotool", "key", "Return"], env=viewer_env)

    def arrived():
        with open(typed, errors="replace") as f:
            return f.read()

    try:
        harness.wait_until(lambda: "\n" in arrived(), 20, "the typed line on the served side")
    except harness.TestFailure:
        raise harness.TestFailure("typed text did not arrive; the file holds %r" % arrived())
    t.check(arrived() == TEXT + "\n", "typed %r, the served side got %r" % (TEXT, arrived()))
    print("%s: typed text arrived exactly: %r" % (tag, TEXT), flush=True)

    # A click through the viewer lands at the same position on the served display.
    probe = t.spawn([harness.CLIENT, "click-probe", "--display", served, "--timeout", "30"],
                    stdout=harness.subprocess.PIPE)
    line = probe.stdout.readline().decode().strip()
    t.check(line == "READY", "click probe said %r" % line)
    harness.time.sleep(0.5)  # Let the probe window reach the viewer.
    t.run(["xdotool", "mousemove", "--window", wid, "123", "77"], env=viewer_env)

    def pointer_at():
        out = t.run(["xdotool", "getmouselocation", "--shell"], env=served_env).stdout_text
        pos = dict(re.findall(r"(\w+)=(\d+)", out))
        return (int(pos.get("X", -1)), int(pos.get("Y", -1)))

    harness.wait_until(lambda: pointer_at() == (123, 77), 10,
                       "the served pointer to reach (123, 77) (it is at %s)" % (pointer_at(),))
    t.run(["xdotool", "click", "1"], env=viewer_env)
    try:
        out, _ = probe.communicate(timeout=20)
    except harness.subprocess.TimeoutExpired:
        raise harness.TestFailure("the click did not arrive on the served display")
    t.check(probe.returncode == 0, "click probe failed")
    t.check(out.decode().strip() == "CLICK 123 77 1", "click probe saw %r" % out.decode())
    print("%s: pointer moved to (123, 77) and button 1 clicked there" % tag, flush=True)

    if check_extensions:
        # vncviewer takes the ContinuousUpdates and Fence extensions vncd offers: the screen it
        # showed came as continuous updates, and its answers to vncd's fences measured the
        # round trip (vncd logs both at debug level).
        v.wait_log("continuous updates on", 10)
        v.wait_log("answers fences; round trip", 10)
        print("%s: the viewer used continuous updates and answered fences" % tag, flush=True)

    # Clipboard both ways (non-ASCII Latin-1 text, as UTF-8 on both X displays). The viewer
    # only takes the server's clipboard while it has the focus, which it has since the typing.
    t.run(["xdotool", "windowfocus", "--sync", wid], env=viewer_env)
    for source_env, target_env, text, direction in [
            (served_env, viewer_env, "served Gr\u00fc\u00dfe %s" % tag, "served -> viewer"),
            (viewer_env, served_env, "viewer Gr\u00fc\u00dfe %s" % tag, "viewer -> served")]:
        # xclip forks and serves the selection until another client owns it (or -loops).
        t.spawn(["sh", "-c", "printf '%s' \"$0\" | xclip -selection clipboard -i -loops 5",
                 text], env=source_env)

        def pasted():
            r = t.run(["xclip", "-o", "-selection", "clipboard"], env=target_env, check=False,
                      timeout=10)
            return r.returncode == 0 and r.stdout.decode("utf-8", "replace") == text

        harness.wait_until(pasted, 15, "the clipboard to go %s (%r)" % (direction, text))
        print("%s: clipboard %s: %r" % (tag, direction, text), flush=True)
    harness.Test.stop(viewer)


with harness.Test("vncviewer") as t:
    served = t.xvfb("800x600x24")
    viewer_display = t.xvfb("1280x1024x24")
    session(t, served, viewer_display, ["--security", "none", "--log-level", "debug"],
            ["-SecurityTypes", "None"], "none", check_extensions=True)
    passwd = t.password_file("viewerPW")
    session(t, served, viewer_display, ["--password-file", passwd],
            ["-SecurityTypes", "VncAuth", "-passwd", passwd], "vncauth")
