"""Real viewers show the served desktop pixel-exactly in every lossless encoding they support.

The served Xvfb shows a deterministic, colourful picture (gradients, smooth colour fields, noise,
saturated checks, 1-pixel lines, solid areas) with an xterm of coloured text on top. Each viewer
runs on a second Xvfb; `xwd` of the viewer's desktop window must equal `xwd` of the served display:
- TigerVNC vncviewer with -PreferredEncoding Raw, Hextile, ZRLE and Tight (-NoJPEG): exact;
- TigerVNC vncviewer's low-colour levels 0, 1 and 2 (8, 64 and 256 colours): exact after
  quantising the served picture the way vncd does and expanding it the way the viewer does;
- xtightvncviewer with -encodings tight -nojpeg and hextile: exact; hextile -bgr233: quantised;
  tight with JPEG allowed: within a PSNR bound.
After the first picture matches, part of the served screen changes and the viewer must follow
(so state carried across updates, such as zlib streams, is exercised too).
"""

import math
import re
import struct

import harness

WIDTH, HEIGHT = 640, 480

# TigerVNC 1.12 vncviewer's low-colour formats (vncviewer/CConn.cxx): 8 bpp true colour with
# (red_max, green_max, blue_max) per -LowColorLevel.
TIGER_LOW_COLOUR = {0: (1, 1, 1), 1: (3, 3, 3), 2: (7, 7, 3)}
# xtightvncviewer -bgr233: red max 7, green max 7, blue max 3.
BGR233 = (7, 7, 3)


# --- pictures -------------------------------------------------------------------------------

def make_picture(variant):
    """A WIDTHxHEIGHT RGB picture as PPM bytes; variant 1 differs from 0 in a few areas."""
    px = bytearray(WIDTH * HEIGHT * 3)
    seed = 20240601 + variant * 7

    def put(x, y, r, g, b):
        i = (y * WIDTH + x) * 3
        px[i] = r
        px[i + 1] = g
        px[i + 2] = b

    checks = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255),
              (255, 0, 255), (255, 255, 255), (0, 0, 0), (255, 128, 0), (128, 0, 255)]
    for y in range(HEIGHT):
        for x in range(WIDTH):
            if y < 96:  # Colour ramps in every channel.
                r, g, b = x * 255 // (WIDTH - 1), y * 255 // 95, (WIDTH - 1 - x) * 255 // (WIDTH - 1)
            elif y < 192:  # A smooth, photo-like colour field.
                r = int(127.5 + 127.5 * math.sin(x / 37.0 + variant))
                g = int(127.5 + 127.5 * math.sin(y / 23.0 + x / 71.0))
                b = int(127.5 + 127.5 * math.cos((x + y) / 53.0))
            elif y < 256:  # Noise (worst case for every encoder).
                seed = (seed * 1103515245 + 12345) & 0xFFFFFFFF
                r, g, b = (seed >> 16) & 255, (seed >> 8) & 255, (seed >> 24) & 255
            elif y < 352:  # Saturated checks of odd sizes, with 1-pixel lines.
                c = checks[((x // 13) + (y // 11) + variant) % len(checks)]
                r, g, b = c
                if x % 29 == 0 or y % 31 == 0:
                    r, g, b = 255 - r, 255 - g, 255 - b
            else:  # Large solid areas in a few colours (for solid-area extraction).
                r, g, b = [(40, 80, 160), (200, 200, 200), (10, 120, 40)][(x // 200) % 3]
            put(x, y, r, g, b)
    if variant == 1:
        for y in range(380, 420):  # A new gradient block inside the solid area.
            for x in range(50, 331):
                put(x, y, (x * 3) & 255, (y * 5) & 255, 128)
    return b"P6\n%d %d\n255\n" % (WIDTH, HEIGHT) + bytes(px)


# --- xwd ------------------------------------------------------------------------------------

class Image:
    """A picture as three byte planes (red, green, blue), row-major."""

    def __init__(self, w, h, red, green, blue):
        self.w, self.h = w, h
        self.planes = (red, green, blue)

    def crop(self, x, y, w, h):
        out = []
        for plane in self.planes:
            rows = [plane[(y + j) * self.w + x:(y + j) * self.w + x + w] for j in range(h)]
            out.append(b"".join(rows))
        return Image(w, h, *out)

    def mapped(self, tables):
        """Each channel through its 256-entry translation table."""
        return Image(self.w, self.h,
                     *[p.translate(bytes(t)) for p, t in zip(self.planes, tables)])


def read_xwd(path):
    """An Image from a ZPixmap xwd file of a 24/32-bit TrueColor window or screen."""
    with open(path, "rb") as f:
        data = f.read()
    (header_size, version, pixmap_format, depth, w, h, _xoff, byte_order, _unit, _bit_order,
     _pad, bpp, bytes_per_line, _visual_class, red_mask, green_mask, blue_mask, _bits_per_rgb,
     _cmap_entries, ncolors) = struct.unpack(">20I", data[:80])
    if version != 7 or pixmap_format != 2 or bpp != 32 or depth not in (24, 32):
        raise harness.TestFailure("unsupported xwd: version %d format %d depth %d bpp %d" %
                                  (version, pixmap_format, depth, bpp))
    start = header_size + ncolors * 12
    pixels = data[start:start + bytes_per_line * h]
    if len(pixels) < bytes_per_line * h:
        raise harness.TestFailure("short xwd file %s" % path)
    rows = b"".join(pixels[y * bytes_per_line:y * bytes_per_line + w * 4] for y in range(h))
    # Byte index of each channel inside a 32-bit pixel in the file's byte order.
    def index(mask):
        shift = {0xFF: 0, 0xFF00: 8, 0xFF0000: 16, 0xFF000000: 24}.get(mask)
        if shift is None:
            raise harness.TestFailure("unsupported xwd channel mask %#x" % mask)
        return shift // 8 if byte_order == 0 else 3 - shift // 8
    return Image(w, h, *[rows[index(m)::4] for m in (red_mask, green_mask, blue_mask)])


def xwd(t, env, name, window=None):
    path = t.path(name)
    target = ["-id", window] if window else ["-root"]
    t.run(["xwd", "-silent", "-out", path] + target, env=env, timeout=20)
    return read_xwd(path)


def differences(a, b):
    """Number of pixels whose colour differs."""
    if (a.w, a.h) != (b.w, b.h):
        return a.w * a.h
    if a.planes == b.planes:
        return 0
    n = 0
    for pa, pb in zip(zip(*a.planes), zip(*b.planes)):
        n += pa != pb
    return n


def psnr(a, b):
    se = 0
    for pa, pb in zip(a.planes, b.planes):
        se += sum((x - y) * (x - y) for x, y in zip(pa, pb))
    mse = se / (3.0 * a.w * a.h)
    return float("inf") if mse == 0 else 10 * math.log10(255.0 * 255.0 / mse)


# --- quantisation ---------------------------------------------------------------------------

def vncd_down(v, max_):
    """vncd's PixelConverter: an 8-bit channel to 0..max_, rounded."""
    return (v * max_ + 127) // 255


def tiger_up(q, max_):
    """TigerVNC's PixelFormat upconversion of a max_-channel value to 8 bits."""
    return q * 255 // max_


def tight_up(q, max_):
    """xtightvncviewer -bgr233: XAllocColor of the 16-bit colour q*65535/max_ on a 24-bit
    TrueColor visual keeps the top 8 bits."""
    return (q * 65535 // max_) >> 8


def quantise_tables(maxima, up):
    return [[up(vncd_down(v, m), m) for v in range(256)] for m in maxima]


# --- viewers --------------------------------------------------------------------------------

WINDOW_LINE = re.compile(r"^\s*(0x[0-9a-f]+) .*?\s(\d+)x(\d+)[+-]-?\d+[+-]-?\d+\s+\+(-?\d+)\+(-?\d+)")


def desktop_windows(t, env):
    """(id, x, y) on the viewer display of every window exactly the served desktop's size."""
    out = t.run(["xwininfo", "-root", "-tree"], env=env, timeout=10).stdout_text
    found = []
    for line in out.splitlines():
        m = WINDOW_LINE.match(line)
        if m and int(m.group(2)) == WIDTH and int(m.group(3)) == HEIGHT:
            found.append((m.group(1), int(m.group(4)), int(m.group(5))))
    return found


def viewer_picture(t, env, tag):
    """Candidate pictures of the served desktop inside the viewer: the viewer display's root
    cropped at each window of the desktop's size (which one is the viewer's framebuffer widget
    differs between viewers)."""
    root = xwd(t, env, "viewer-%s.xwd" % tag)
    out = []
    for _wid, x, y in desktop_windows(t, env):
        if 0 <= x and 0 <= y and x + WIDTH <= root.w and y + HEIGHT <= root.h:
            out.append(root.crop(x, y, WIDTH, HEIGHT))
    return out


def stable_served(t, env, tag):
    """xwd of the served display once two captures 0.2 s apart agree."""
    prev = [None]

    def grab():
        img = xwd(t, env, "served-%s.xwd" % tag)
        same = prev[0] is not None and img.planes == prev[0].planes
        prev[0] = img
        return img if same else None

    return harness.wait_until(grab, 15, "the served display to settle", interval=0.2)


def wait_for_picture(t, viewer, env, expected, tag, check):
    """Waits (bounded) until the viewer shows a picture check() accepts; reports the closest."""
    best = [None]

    def shown():
        if viewer.poll() is not None:
            raise harness.TestFailure("%s: the viewer exited with %s" % (tag, viewer.returncode))
        for img in viewer_picture(t, env, tag):
            ok, what = check(img, expected)
            if ok:
                return what
            best[0] = what
        return None

    try:
        return harness.wait_until(shown, 20, "%s: the viewer to show the served desktop" % tag,
                                  interval=0.3)
    except harness.TestFailure as e:
        raise harness.TestFailure("%s (closest: %s)" % (e, best[0] or "no desktop-sized window"))


def exact(img, expected):
    n = differences(img, expected)
    return n == 0, "%d pixels differ" % n


def psnr_at_least(bound):
    def check(img, expected):
        value = psnr(img, expected)
        return value >= bound, "PSNR %.1f dB (bound %.1f dB)" % (value, bound)
    return check


def show(t, env, picture):
    """Makes `picture` the served display's root background (ImageMagick's display exits 1
    after setting it, so its status says nothing: the caller checks the screen instead)."""
    t.run(["display", "-window", "root", picture], env=env, timeout=20, check=False)


def run_viewer(t, served_env, viewer_env, cmd, tag, pictures, expect, check=exact):
    """Starts a viewer, checks the first picture, changes the served screen, checks again."""
    log = t.path("viewer-%s.log" % tag)
    viewer = t.spawn(cmd, env=viewer_env, stderr=open(log, "w"))
    try:
        t0 = harness.time.monotonic()
        for i, picture in enumerate(pictures):
            if i > 0:
                show(t, served_env, picture)
            served = stable_served(t, served_env, "%s-%d" % (tag, i))
            what = wait_for_picture(t, viewer, viewer_env, expect(served), "%s (picture %d)" %
                                    (tag, i), check)
        with open(log, errors="replace") as f:
            formats = re.findall(r"[Pp]ixel format:? (.*)", f.read())
        print("%s: both pictures shown (%s) in %.1f s%s" %
              (tag, what, harness.time.monotonic() - t0,
               "; viewer's format: " + formats[-1].strip() if formats else ""), flush=True)
    except harness.TestFailure:
        with open(log, errors="replace") as f:
            print("--- %s viewer log:\n%s--- end" % (tag, f.read()[-3000:]), flush=True)
        raise
    finally:
        harness.Test.stop(viewer)
    # Back to the first picture for the next viewer.
    show(t, served_env, pictures[0])


with harness.Test("encodings") as t:
    served = t.xvfb("%dx%dx24" % (WIDTH, HEIGHT))
    viewer_display = t.xvfb("800x600x24")
    served_env = t.env_with(display=served)
    viewer_env = t.env_with(display=viewer_display)

    pictures = []
    for variant in (0, 1):
        path = t.path("picture-%d.ppm" % variant)
        with open(path, "wb") as f:
            f.write(make_picture(variant))
        pictures.append(path)
    show(t, served_env, pictures[0])
    # Coloured text: an xterm with bitmap fonts, no cursor, no blinking.
    t.spawn(["xterm", "-geometry", "48x6+300+200", "-bg", "#202020", "-fg", "#e0e0e0", "+bc",
             "-title", "text", "-e", "sh", "-c",
             "printf '\\033[?25l\\033[31mred \\033[32mgreen \\033[34mblue \\033[33myellow\\n"
             "\\033[1;35mbold magenta \\033[0;36mcyan\\033[0m vncd encodings\\n"
             "\\033[7m inverse \\033[0m The quick brown fox jumps 0123456789'; exec sleep 600"],
            env=served_env)
    harness.wait_until(
        lambda: '"text"' in t.run(["xwininfo", "-root", "-tree"], env=served_env,
                                  timeout=10).stdout_text, 15, "the xterm window")

    # The served screen really shows the picture (rows above the xterm, which starts at y=200).
    first = stable_served(t, served_env, "check")
    ppm = open(pictures[0], "rb").read()
    want = ppm[len(ppm) - WIDTH * HEIGHT * 3:][:WIDTH * 192 * 3]
    got = first.crop(0, 0, WIDTH, 192)
    t.check(bytes(b for px in zip(*got.planes) for b in px) == want,
            "the served display does not show the test picture")

    v = t.vncd(["--display", served, "--security", "none"])
    address = "127.0.0.1::%d" % v.port

    identity = lambda img: img
    tiger = ["vncviewer", "-Log=*:stderr:30", "-SecurityTypes", "None", "-AutoSelect=0",
             "-NoJPEG=1", "-Shared=1"]
    for enc in ["Raw", "Hextile", "ZRLE", "Tight"]:
        run_viewer(t, served_env, viewer_env,
                   tiger + ["-PreferredEncoding", enc, "-FullColor=1", address],
                   "vncviewer-" + enc, pictures, identity)
    for level, enc in [(0, "Hextile"), (1, "ZRLE"), (2, "Tight")]:
        tables = quantise_tables(TIGER_LOW_COLOUR[level], tiger_up)
        run_viewer(t, served_env, viewer_env,
                   tiger + ["-PreferredEncoding", enc, "-FullColor=0", "-LowColorLevel",
                            str(level), address],
                   "vncviewer-%s-lowcolour%d" % (enc, level), pictures,
                   lambda img, tb=tables: img.mapped(tb))

    tight = ["xtightvncviewer", "-encodings"]
    run_viewer(t, served_env, viewer_env, tight + ["tight", "-nojpeg", address],
               "xtightvncviewer-tight-nojpeg", pictures, identity)
    run_viewer(t, served_env, viewer_env, tight + ["hextile", address],
               "xtightvncviewer-hextile", pictures, identity)
    run_viewer(t, served_env, viewer_env, tight + ["hextile", "-bgr233", address],
               "xtightvncviewer-hextile-bgr233", pictures,
               lambda img: img.mapped(quantise_tables(BGR233, tight_up)))
    # JPEG allowed (the viewer's default quality, 6): lossy, so within a PSNR bound.
    run_viewer(t, served_env, viewer_env, tight + ["tight", "-quality", "6", address],
               "xtightvncviewer-tight-jpeg6", pictures, identity, check=psnr_at_least(30.0))
    t.check(v.proc.poll() is None, "vncd exited during the test")
