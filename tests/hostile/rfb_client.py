"""A minimal, strict RFB 3.8 client for the hostile-client suite (standard library only): the
well-behaved client that checks the server after every hostile case (None or VNC
Authentication, 32bpp true colour, Raw only, one full update), the raw socket helpers the hostile
cases are built from, and an XWD reader for the picture the Xvfb display really shows."""

import os
import socket
import struct
import subprocess
import time

import harness

TestFailure = harness.TestFailure

# rfbproto.rst "SetPixelFormat": 32 bpp, depth 24, little-endian, true colour, 8 bits a channel
# at shifts 16/8/0, so each pixel arrives as the bytes B, G, R, unused.
PF32_LE = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
RAW = 0


def u8(v):
    return struct.pack(">B", v)


def u16(v):
    return struct.pack(">H", v)


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def set_pixel_format(pf):
    return u8(0) + b"\0" * 3 + pf


def set_encodings(encodings, count=None):
    n = len(encodings) if count is None else count
    return u8(2) + u8(0) + u16(n) + b"".join(u32(e) for e in encodings)


def update_request(x, y, w, h, incremental=False):
    return u8(3) + u8(1 if incremental else 0) + u16(x) + u16(y) + u16(w) + u16(h)


def key_event(keysym, down):
    return u8(4) + u8(1 if down else 0) + b"\0\0" + u32(keysym)


def pointer_event(x, y, mask=0):
    return u8(5) + u8(mask) + u16(x) + u16(y)


def cut_text_header(length):
    return u8(6) + b"\0" * 3 + u32(length)


def connect(port, source="127.0.0.1", timeout=10):
    """A TCP connection to vncd on 127.0.0.1 from the loopback address `source` (Linux routes
    all of 127/8 to lo, so each case can come from an address of its own)."""
    return socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0))


def recv_exact(sock, n):
    return harness.recv_exact(sock, n)


def closed_by_server(sock, timeout=5.0, limit=1 << 20):
    """True if the server closes the connection (EOF or reset) within timeout, reading and
    discarding up to `limit` bytes it sends first."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    got = 0
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                return True
            got += len(chunk)
            if got > limit:
                return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def finish(sock):
    """Half-closes our side and waits (bounded) for the server to close too, so the next case
    starts with this connection gone from the server."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    closed_by_server(sock, timeout=5.0, limit=1 << 30)
    sock.close()


def vnc_auth_response(password, challenge):
    """VNC Authentication's answer: the challenge DES-encrypted (ECB) with the password's bytes,
    each bit-reversed (rfbproto.rst "VNC Authentication"). Python has no DES: openssl does it."""
    key = bytes(int("{:08b}".format(b)[::-1], 2) for b in password.encode()[:8].ljust(8, b"\0"))
    r = subprocess.run(["openssl", "enc", "-des-ecb", "-K", key.hex(), "-nopad", "-provider",
                        "legacy", "-provider", "default"], input=challenge,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    if r.returncode != 0 or len(r.stdout) != 16:
        raise TestFailure("openssl could not compute a VNC response: %s" % r.stderr.decode())
    return r.stdout


def read_security_result(sock):
    """SecurityResult (3.8): None if OK, else the reason."""
    if struct.unpack(">I", recv_exact(sock, 4))[0] == 0:
        return None
    n = struct.unpack(">I", recv_exact(sock, 4))[0]
    if n > 4096:
        raise TestFailure("failure reason of %d bytes" % n)
    return recv_exact(sock, n).decode("latin-1")


def handshake(port, security=1, password=None, source="127.0.0.1", timeout=10):
    """RFB 3.8 up to ServerInit with security None (1) or VNC Authentication (2). Returns
    (socket, width, height). Raises TestFailure on anything unexpected."""
    s = connect(port, source, timeout)
    try:
        version = recv_exact(s, 12)
        if version != b"RFB 003.008\n":
            raise TestFailure("server version %r" % version)
        s.sendall(b"RFB 003.008\n")
        count = recv_exact(s, 1)[0]
        if count == 0:
            n = struct.unpack(">I", recv_exact(s, 4))[0]
            raise TestFailure("server refused: %r" % recv_exact(s, min(n, 4096)))
        types = recv_exact(s, count)
        if security not in types:
            raise TestFailure("security type %d not offered (%s)" % (security, list(types)))
        s.sendall(u8(security))
        if security == 2:
            challenge = recv_exact(s, 16)
            s.sendall(vnc_auth_response(password, challenge))
        reason = read_security_result(s)
        if reason is not None:
            raise TestFailure("authentication failed: %s" % reason)
        s.sendall(u8(1))  # Shared.
        init = recv_exact(s, 24)
        width, height = struct.unpack(">HH", init[:4])
        name_len = struct.unpack(">I", init[20:24])[0]
        if name_len > 4096:
            raise TestFailure("desktop name of %d bytes" % name_len)
        recv_exact(s, name_len)
        return s, width, height
    except BaseException:
        s.close()
        raise


def skip_server_message(sock, msg_type):
    """Reads past a non-update server message."""
    if msg_type == 1:  # SetColourMapEntries
        _, _, n = struct.unpack(">BHH", recv_exact(sock, 5))
        recv_exact(sock, 6 * n)
    elif msg_type == 2:  # Bell
        pass
    elif msg_type == 3:  # ServerCutText
        n = struct.unpack(">3xI", recv_exact(sock, 7))[0]
        if n > (1 << 20):
            raise TestFailure("ServerCutText of %d bytes" % n)
        recv_exact(sock, n)
    else:
        raise TestFailure("unknown server message type %d" % msg_type)


def read_raw_update(sock, width, height, timeout=20):
    """Reads FramebufferUpdates (Raw rectangles only, 32bpp) until the whole framebuffer is
    covered; returns the picture as bytearray of B, G, R, X per pixel."""
    sock.settimeout(timeout)
    fb = bytearray(width * height * 4)
    covered = bytearray(width * height)
    left = width * height
    deadline = time.monotonic() + timeout
    while left > 0:
        if time.monotonic() > deadline:
            raise TestFailure("no full framebuffer within %d s (%d pixels missing)" %
                              (timeout, left))
        msg_type = recv_exact(sock, 1)[0]
        if msg_type != 0:
            skip_server_message(sock, msg_type)
            continue
        n = struct.unpack(">xH", recv_exact(sock, 3))[0]
        for _ in range(n):
            x, y, w, h, enc = struct.unpack(">HHHHi", recv_exact(sock, 12))
            if enc != RAW:
                raise TestFailure("encoding %d, but only Raw was asked for" % enc)
            if x + w > width or y + h > height:
                raise TestFailure("rectangle %dx%d+%d+%d outside the %dx%d framebuffer" %
                                  (w, h, x, y, width, height))
            data = recv_exact(sock, w * h * 4)
            for row in range(h):
                off = ((y + row) * width + x)
                fb[off * 4:(off + w) * 4] = data[row * w * 4:(row + 1) * w * 4]
                for i in range(off, off + w):
                    if not covered[i]:
                        covered[i] = 1
                        left -= 1
    return fb


def xwd_root(display):
    """The root window of `display` as (width, height, bytes R, G, B per pixel), read with
    `xwd -root` and decoded here (ZPixmap, true colour, any byte order)."""
    r = subprocess.run(["xwd", "-root", "-silent", "-display", display], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if r.returncode != 0:
        raise TestFailure("xwd failed: %s" % r.stderr.decode(errors="replace"))
    d = r.stdout
    hdr = struct.unpack(">25I", d[:100])
    (header_size, _version, pixmap_format, _depth, width, height, _xoffset, byte_order, _unit,
     _bit_order, _pad, bpp, bytes_per_line, _visual_class, red_mask, green_mask, blue_mask,
     _bits_per_rgb, _cmap_entries, ncolors) = hdr[:20]
    if pixmap_format != 2 or bpp not in (24, 32):
        raise TestFailure("unexpected XWD format %d, %d bpp" % (pixmap_format, bpp))
    data = d[header_size + 12 * ncolors:]
    step = bpp // 8
    order = "little" if byte_order == 0 else "big"

    def shift_of(mask):
        return (mask & -mask).bit_length() - 1

    rs, gs, bs = shift_of(red_mask), shift_of(green_mask), shift_of(blue_mask)
    out = bytearray(width * height * 3)
    for y in range(height):
        row = data[y * bytes_per_line:y * bytes_per_line + width * step]
        for x in range(width):
            p = int.from_bytes(row[x * step:x * step + step], order)
            o = (y * width + x) * 3
            out[o] = (p & red_mask) >> rs
            out[o + 1] = (p & green_mask) >> gs
            out[o + 2] = (p & blue_mask) >> bs
    return width, height, bytes(out)


def rgb_of_fb(fb):
    """B, G, R, X pixels to R, G, B."""
    out = bytearray(len(fb) // 4 * 3)
    out[0::3] = fb[2::4]
    out[1::3] = fb[1::4]
    out[2::3] = fb[0::4]
    return bytes(out)


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise TestFailure("no VmRSS for pid %d" % pid)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
