#!/usr/bin/env python3
"""Writes the seed corpora of the encoder and decoder fuzz targets (run once; the files are
committed): tests/fuzz/corpus/encoder/ and tests/fuzz/corpus/decoder/.

Encoder seeds: every encoding x both paths (direct, planner) x a few pixel formats and colour
counts. Decoder seeds: small valid payloads of every encoding, written here from rfbproto.rst
(not produced by vncd's encoders), so the fuzzer starts from inputs that decode."""

import os
import random
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ENCODINGS = ["raw", "rre", "corre", "hextile", "zlib", "tight", "trle", "zrle"]  # fuzz order

# Six bytes for fuzz_pixel_format.h's make_format().
FORMATS = {
    # 32 bpp depth 24, channels 8/8/8 with blue at 0, green at 8, red at 16.
    "rgb888": bytes([2, 23, 8, 8, 8, 5]),
    "rgb888be": bytes([0x11, 23, 8, 8, 8, 5]),  # 0x11 % 3 == 2: 32 bpp; 0x10: big endian
    # 16 bpp 565: blue 5 at 0, green 6 at 5, red 5 at 11.
    "rgb565": bytes([1, 15, 5, 6, 5, 5]),
    # 15-in-16 big endian (0x10 % 3 == 1: 16 bpp): red at 0, blue at 6, green at 11 (gap at 5).
    "rgb555gaps": bytes([0x10, 14, 5, 5, 5, 5 | 0x20]),
    # 8 bpp BGR233 (red 3 at 0, green 3 at 3, blue 2 at 6).
    "bgr233": bytes([0, 7, 3, 3, 2, 0]),
    "colourmap": bytes([0x21, 0, 0, 0, 0, 0]),  # 0x21 % 3 == 0: 8 bpp; 0x20: colour map
}


def write(folder, name, data):
    path = os.path.join(HERE, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


def encoder_seeds():
    rng = random.Random(1)
    sizes = [(1, 1), (17, 33), (65, 1), (1, 65), (64, 64), (100, 40)]
    colours = [0, 1, 2, 4, 16, 200]
    n = 0
    for e, enc in enumerate(ENCODINGS):
        for path in (0, 1):
            for fmt_name in ("rgb888", "rgb565", "bgr233", "colourmap", "rgb888be", "rgb555gaps"):
                if (e + path + len(fmt_name)) % 2:  # Half of the combinations: keep replay fast.
                    continue
                w, h = sizes[n % len(sizes)]
                c = colours[(n // 2) % len(colours)]
                header = bytes([e, path]) + FORMATS[fmt_name] + struct.pack(
                    "<H", w - 1) + bytes([h - 1, n % 11, colours.index(c) if c in (0, 1, 2, 4) else
                                          {16: 6, 200: 8}[c], rng.randrange(256), 0, 0])
                body = bytes(rng.randrange(256) for _ in range(min(4 * w * h, 2048)))
                write("encoder", "%s_%s_%s_%dx%d" % (enc, "planner" if path else "direct",
                                                     fmt_name, w, h), header + body)
                n += 1


def px32(r, g, b):
    """A pixel of the rgb888 seed format (little endian)."""
    return struct.pack("<I", r << 16 | g << 8 | b)


def cpixel(r, g, b):
    """ZRLE/TRLE CPIXEL and Tight TPIXEL of the rgb888 format: three bytes, little endian."""
    return px32(r, g, b)[:3]


def zsync(co, data):
    return co.compress(data) + co.flush(zlib.Z_SYNC_FLUSH)


def decoder_seeds():
    fmt = FORMATS["rgb888"]
    fb = bytes([32, 32])  # 33 x 33 framebuffer.

    def seed(name, encoding, rects):
        body = b"".join(bytes(r) + payload for r, payload in rects)
        write("decoder", name, bytes([ENCODINGS.index(encoding)]) + fmt + fb + body)

    red, green, blue, white = px32(255, 0, 0), px32(0, 255, 0), px32(0, 0, 255), px32(255, 255, 255)
    # Raw: a 2x2 rectangle.
    seed("raw", "raw", [((1, 1, 1, 1), red + green + blue + white)])
    # RRE: background, two subrectangles (U16 x, y, w, h).
    seed("rre", "rre", [((0, 0, 15, 9), struct.pack(">I", 2) + red + green +
                          struct.pack(">4H", 1, 1, 3, 2) + blue + struct.pack(">4H", 5, 3, 2, 4))])
    # CoRRE: U8 coordinates.
    seed("corre", "corre", [((2, 2, 9, 9), struct.pack(">I", 1) + white + red + bytes([1, 2, 3, 4]))])
    # Hextile, one 20x18 rectangle = 2x2 tiles: raw; background + foreground + mono subrects;
    # coloured subrects; background only (the previous one carried over).
    tiles = (bytes([1]) + b"".join(px32(x * 16, y * 16, 80) for y in range(16) for x in range(16)) +
             bytes([2 | 4 | 8]) + blue + white + bytes([2, 0x12, 0x11, 0x33, 0x00]) +
             bytes([8 | 16]) + bytes([2]) + red + bytes([0x00, 0x11]) + green + bytes([0x21, 0x10]) +
             bytes([0]))
    seed("hextile", "hextile", [((0, 0, 19, 17), tiles)])
    # Zlib: U32 length + zlib data of raw pixels; two rectangles share the stream.
    co = zlib.compressobj()
    a = zsync(co, (red + green) * 6)
    b = zsync(co, (blue + white) * 3)
    seed("zlib", "zlib", [((0, 0, 3, 2), struct.pack(">I", len(a)) + a),
                          ((4, 4, 2, 1), struct.pack(">I", len(b)) + b)])
    # Tight: fill; basic without zlib (< 12 bytes); basic with zlib on stream 0, copy filter;
    # palette of two (mono).
    small = cpixel(1, 2, 3) * 3
    co = zlib.compressobj()
    big = zsync(co, b"".join(cpixel(x, 2 * x, 255 - x) for x in range(16)))

    def compact(n):
        out = bytearray()
        while True:
            if n < 0x80:
                out.append(n)
                return bytes(out)
            out.append((n & 0x7F) | 0x80)
            n >>= 7

    mono = bytes([0b10100000, 0b01010000])  # 4x2, one bit per pixel, rows padded to a byte.
    seed("tight", "tight", [((0, 0, 9, 9), bytes([0x80]) + cpixel(9, 8, 7)),
                            ((0, 0, 2, 0), bytes([0x00]) + small),
                            ((0, 0, 15, 0), bytes([0x00]) + compact(len(big)) + big),
                            ((0, 0, 3, 1), bytes([0x40 | 0x10, 1, 1]) + cpixel(0, 0, 0) +
                             cpixel(255, 255, 255) + mono)])
    # TRLE: solid tile; raw tile; packed palette of two; plain RLE.
    seed("trle", "trle", [((0, 0, 19, 19), bytes([1]) + cpixel(10, 20, 30) + bytes([1]) +
                           cpixel(30, 20, 10) + bytes([1]) + cpixel(0, 0, 0) + bytes([1]) +
                           cpixel(1, 1, 1)),
                          ((0, 0, 1, 1), bytes([0]) + cpixel(1, 2, 3) * 4),
                          ((0, 0, 7, 0), bytes([2]) + cpixel(0, 0, 0) + cpixel(255, 0, 0) +
                           bytes([0b01100110])),
                          ((0, 0, 3, 1), bytes([128]) + cpixel(5, 5, 5) + bytes([3]) +
                           cpixel(6, 6, 6) + bytes([3]))])
    # ZRLE: U32 length + zlib of TRLE-like tiles (64x64); a solid tile, then a palette-RLE tile.
    co = zlib.compressobj()
    t1 = zsync(co, bytes([1]) + cpixel(200, 100, 50))
    t2 = zsync(co, bytes([130]) + cpixel(0, 0, 0) + cpixel(255, 255, 255) + bytes([0x80, 7, 1]))
    seed("zrle", "zrle", [((0, 0, 32, 32), struct.pack(">I", len(t1)) + t1),
                          ((1, 1, 2, 2), struct.pack(">I", len(t2)) + t2)])
    # Plain garbage for every decoder.
    rng = random.Random(2)
    for e, enc in enumerate(ENCODINGS):
        write("decoder", "garbage_" + enc,
              bytes([e]) + fmt + fb + bytes(rng.randrange(256) for _ in range(200)))


if __name__ == "__main__":
    encoder_seeds()
    decoder_seeds()
