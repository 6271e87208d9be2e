"""vncsnapshot 1.2a takes a JPEG of the served display (with and without a password); it must be
the screen's size and, allowing for JPEG loss, look like `xwd -root` of the display."""

import harness


def read_ppm(path):
    """(width, height, bytes) of a binary PPM (P6, maxval 255) as `convert` writes it."""
    with open(path, "rb") as f:
        data = f.read()
    fields = []
    pos = 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pos += 1
    if fields[0] != b"P6" or fields[3] != b"255":
        raise harness.TestFailure("unexpected PPM header %s" % fields)
    w, h = int(fields[1]), int(fields[2])
    return w, h, data[pos:pos + w * h * 3]


def to_ppm(t, source, out):
    t.run(["convert", source, "-depth", "8", "ppm:" + out])
    return read_ppm(out)


def compare(t, snapshot_jpg, reference_xwd):
    sw, sh, spx = to_ppm(t, snapshot_jpg, t.path("snap.ppm"))
    rw, rh, rpx = to_ppm(t, "xwd:" + reference_xwd, t.path("ref.ppm"))
    t.check((sw, sh) == (rw, rh), "snapshot is %dx%d, screen %dx%d" % (sw, sh, rw, rh))
    total = sum(abs(a - b) for a, b in zip(spx, rpx))
    mean = total / len(rpx)
    # A pixel in the middle of the solid background, away from the xterm.
    i = ((sh - 10) * sw + (sw - 10)) * 3
    corner = tuple(spx[i:i + 3])
    return sw, sh, mean, corner


with harness.Test("vncsnapshot") as t:
    display = t.xvfb("640x480x24")
    env = t.env_with(display=display)
    t.run(["xsetroot", "-solid", "#3060c0"], env=env)
    t.spawn(["xterm", "-geometry", "40x8+40+40", "-bg", "white", "-fg", "black", "-e", "sh", "-c",
             "echo vncd snapshot test; exec sleep 600"], env=env)
    harness.wait_until(
        lambda: '"XTerm"' in t.run(["xwininfo", "-root", "-tree"], env=env).stdout_text, 15,
        "the xterm window")
    harness.time.sleep(1.0)  # Let xterm draw its text.
    t.run(["sh", "-c", "xwd -root -silent > %s" % t.path("root.xwd")], env=env)

    v = t.vncd(["--display", display])
    jpg = t.path("snap.jpg")
    t.run(["vncsnapshot", "-quiet", "127.0.0.1::%d" % v.port, jpg], timeout=60)
    w, h, mean, corner = compare(t, jpg, t.path("root.xwd"))
    print("no auth: %dx%d, mean abs difference %.2f, background %s" % (w, h, mean, corner),
          flush=True)
    t.check(mean < 8, "snapshot differs too much from the screen (mean %.2f)" % mean)
    t.check(all(abs(a - b) <= 24 for a, b in zip(corner, (0x30, 0x60, 0xc0))),
            "background is %s, expected about (48, 96, 192)" % (corner,))

    passwd = t.password_file("snapPW")
    v2 = t.vncd(["--display", display, "--password-file", passwd])
    jpg2 = t.path("snap2.jpg")
    t.run(["vncsnapshot", "-quiet", "-passwd", passwd, "127.0.0.1::%d" % v2.port, jpg2],
          timeout=60)
    w, h, mean, corner = compare(t, jpg2, t.path("root.xwd"))
    print("vncauth: %dx%d, mean abs difference %.2f" % (w, h, mean), flush=True)
    t.check(mean < 8, "snapshot with a password differs too much (mean %.2f)" % mean)
