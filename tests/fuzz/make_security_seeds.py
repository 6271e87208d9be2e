#!/usr/bin/env python3
"""Writes the seed corpora of the security fuzz targets (handshake, plain_auth, vencrypt,
messages) into corpus/<target>/. Run from anywhere; needs `openssl` (DES, for the VNC
Authentication responses to the fixed challenge in fuzz_security_support.h)."""

import os
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
CHALLENGE = bytes((i * 7 + 1) & 0xFF for i in range(16))  # fixed_challenge()
V38 = b"RFB 003.008\n"
V37 = b"RFB 003.007\n"
V33 = b"RFB 003.003\n"


def u8(v):
    return struct.pack(">B", v)


def u16(v):
    return struct.pack(">H", v)


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def vnc_response(password):
    key = bytes(int("{:08b}".format(b)[::-1], 2) for b in password.encode()[:8].ljust(8, b"\0"))
    return subprocess.run(["openssl", "enc", "-des-ecb", "-K", key.hex(), "-nopad", "-provider",
                           "legacy", "-provider", "default"], input=CHALLENGE,
                          stdout=subprocess.PIPE, check=True).stdout


def plain(user, password):
    return u32(len(user)) + u32(len(password)) + user + password


# Post-auth messages (rfbproto.rst "Client to Server Messages").
PF32 = u8(32) + u8(24) + u8(0) + u8(1) + u16(255) * 3 + u8(16) + u8(8) + u8(0) + b"\0" * 3
PF8_MAP = u8(8) + u8(8) + u8(0) + u8(0) + u16(0) * 3 + u8(0) * 3 + b"\0" * 3
SET_PF = u8(0) + b"\0" * 3 + PF32
SET_PF_MAP = u8(0) + b"\0" * 3 + PF8_MAP
SET_PF_BAD = u8(0) + b"\0" * 3 + u8(33) + u8(40) + u8(0) + u8(1) + u16(0) * 3 + u8(99) * 3 + b"\0" * 3
SET_ENC = u8(2) + u8(0) + u16(4) + u32(0) + u32(16) + u32(7) + u32(-223)
SET_ENC_SHORT = u8(2) + u8(0) + u16(1000) + u32(0)
SET_ENC_HUGE = u8(2) + u8(0) + u16(0xFFFF)
FBUR = u8(3) + u8(0) + u16(0) + u16(0) + u16(1920) + u16(1080)
FBUR_WRAP = u8(3) + u8(1) + u16(65000) + u16(65000) + u16(1000) + u16(1000)
KEY = u8(4) + u8(1) + b"\0\0" + u32(0x61)
POINTER = u8(5) + u8(1) + u16(65535) + u16(65535)
CUT = u8(6) + b"\0" * 3 + u32(5) + b"hello"
CUT_BIG = u8(6) + b"\0" * 3 + u32(0x7FFFFFFF) + b"xyz"
CUT_NEG = u8(6) + b"\0" * 3 + u32(-8) + u32(1)  # Extended clipboard "caps" with no caps.
CUT_MAX = u8(6) + b"\0" * 3 + u32(0xFFFFFFFF)
UNKNOWN = u8(250) + b"\0" * 8
SESSION = SET_PF + SET_ENC + FBUR + KEY + POINTER + CUT + FBUR_WRAP


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    pw, view = vnc_response("pw"), vnc_response("view")
    vencrypt_ok = b"\x00\x02"
    # handshake: setup index, chunk selector, client bytes (setups as in handshake_fuzz.cpp).
    hs = {
        "none38": (0, V38 + u8(1) + u8(1) + SESSION),
        "none37": (0, V37 + u8(1) + u8(0) + SESSION),
        "none33": (0, V33 + u8(1) + SESSION),
        "not_offered": (0, V38 + u8(2)),
        "vncauth_ok": (1, V38 + u8(2) + pw + u8(1) + SESSION),
        "vncauth_view": (1, V38 + u8(2) + view + u8(1) + SESSION),
        "vncauth_wrong": (1, V38 + u8(2) + b"\0" * 16 + u8(1)),
        "vncauth33": (1, V33 + pw + u8(1) + FBUR),
        "vncauth_or_none": (2, V38 + u8(1) + u8(1) + FBUR),
        "plain_ok": (3, V38 + u8(19) + vencrypt_ok + u32(256) + plain(b"alice", b"secret") +
                     u8(1) + SESSION),
        "plain_wrong": (3, V38 + u8(19) + vencrypt_ok + u32(256) + plain(b"alice", b"nope")),
        "plain_huge": (3, V38 + u8(19) + vencrypt_ok + u32(256) + u32(0xFFFFFFFF) + u32(1)),
        "vencrypt_bad_version": (3, V38 + u8(19) + b"\x00\x01"),
        "vencrypt_bad_subtype": (3, V38 + u8(19) + vencrypt_ok + u32(257)),
        "tlsnone": (4, V38 + u8(19) + vencrypt_ok + u32(257) + u8(1) + SESSION),
        "tls_early_data": (4, V38 + u8(19) + vencrypt_ok + u32(257) + b"\x16\x03\x01"),
        "tlsvnc": (5, V38 + u8(19) + vencrypt_ok + u32(258) + pw + u8(1) + SESSION),
        "tlsplain": (6, V38 + u8(19) + vencrypt_ok + u32(259) + plain(b"alice", b"secret") +
                     u8(1) + SESSION),
        "all_plain": (7, V38 + u8(19) + vencrypt_ok + u32(256) + plain(b"alice", b"secret") +
                      u8(1)),
        "http": (1, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        "tls_hello": (5, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32))),
        "rfb4": (0, b"RFB 004.000\n" + u8(1) + u8(1)),
        "rfb_short": (0, b"RFB 003.00\n" + u8(1)),
    }
    for name, (setup, data) in hs.items():
        write("handshake", name, u8(setup) + u8(0x10) + data)
        write("handshake", name + "_bytewise", u8(setup) + u8(0) + data)

    # plain_auth: allow-list/chunk byte, then the exchange.
    pa = {
        "ok": plain(b"alice", b"secret"),
        "wrong": plain(b"alice", b"x"),
        "not_allowed": plain(b"mallory", b"secret"),
        "empty_user": plain(b"", b"secret"),
        "nul": plain(b"ali\0ce", b"secret"),
        "long_user": u32(256) + u32(1) + b"a" * 257,
        "long_password": u32(5) + u32(1025) + b"alice",
        "huge": u32(0xFFFFFFFF) + u32(0xFFFFFFFF),
        "trailing": plain(b"alice", b"secret") + b"more",
    }
    for name, data in pa.items():
        for sel in (0x00, 0x41, 0xFE):
            write("plain_auth", "%s_%02x" % (name, sel), u8(sel) + data)

    # vencrypt: chunk, count-1, rotation, then the exchange (table order as in vencrypt_fuzz.cpp:
    # plain, tlsnone, tlsvnc, tlsplain, x509none, x509vnc, x509plain, unknown).
    ve = {
        "plain": (0, 0, vencrypt_ok + u32(256) + plain(b"alice", b"secret")),
        "tlsnone": (1, 1, vencrypt_ok + u32(257)),
        "tlsvnc": (1, 2, vencrypt_ok + u32(258) + pw),
        "x509plain": (7, 0, vencrypt_ok + u32(262) + plain(b"alice", b"secret")),
        "unknown": (0, 7, vencrypt_ok + u32(1234567)),
        "not_offered": (0, 0, vencrypt_ok + u32(258)),
        "bad_version": (7, 0, b"\x00\x03"),
        "trailing": (2, 1, vencrypt_ok + u32(257) + b"\x16\x03\x01"),
    }
    for name, (count_minus_1, rot, data) in ve.items():
        write("vencrypt", name, u8(3) + u8(count_minus_1) + u8(rot) + data)
        write("vencrypt", name + "_bytewise", u8(0) + u8(count_minus_1) + u8(rot) + data)

    # messages: limits (max_encodings, max_cut_text, wire flag/extra), then messages.
    default_limits = u16(1024) + u16(0xFFFF) + u8(1) + u8(0)
    tight_limits = u16(2) + u16(4) + u8(0) + u8(8)
    ms = {
        "session": SESSION,
        "pf_map": SET_PF_MAP,
        "pf_bad": SET_PF_BAD,
        "enc_short": SET_ENC_SHORT,
        "enc_huge": SET_ENC_HUGE,
        "cut_big": CUT_BIG,
        "cut_neg": CUT_NEG,
        "cut_max": CUT_MAX,
        "unknown": UNKNOWN,
        "fbur_wrap": FBUR_WRAP,
        "pointer_flood": POINTER * 64,
    }
    for name, data in ms.items():
        write("messages", name, default_limits + data)
        write("messages", name + "_tight", tight_limits + data)


if __name__ == "__main__":
    main()
