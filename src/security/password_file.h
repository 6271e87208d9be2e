// vncpasswd files: TigerVNC's `vncpasswd -f` format (8 bytes: the full-access password, or 16: then
// the view-only one), each DES-encrypted with VNC's fixed key. Free functions, no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rfb/result.h"
#include "security/des.h"
#include "security/vnc_auth.h"

namespace vncd::security {

inline constexpr size_t kPasswordFileFullSize = 8;       // Full-access password only.
inline constexpr size_t kPasswordFileWithViewSize = 16;  // Plus the view-only password.

// The fixed key vncpasswd obfuscates passwords with, as printed in TigerVNC and RealVNC sources
// (d3desObfuscationKey). Like every VNC key it is in VNC bit order: Des needs reverse_key_bits().
inline constexpr DesKey kVncPasswdObfuscationKey = {23, 82, 107, 6, 35, 78, 88, 7};

// Decodes the contents of a vncpasswd file. Each 8-byte block decrypts to a password padded with
// zero bytes. An empty full-access password is an error; an empty view-only block means none.
Result<VncPasswords> decode_password_file(std::span<const uint8_t> bytes);

// Encodes passwords as vncpasswd -f would: 8 bytes, or 16 if there is a view-only password.
// Passwords are truncated to kVncPasswordMaxLength bytes, as VNC does. Fails on an empty
// full-access password or a zero byte inside the part that is kept (it would end the password
// early).
Result<std::vector<uint8_t>> encode_password_file(const VncPasswords& passwords);

// Reads and decodes a file; errors name the path and what is wrong (missing, unreadable, not a
// regular file, wrong size).
Result<VncPasswords> read_password_file(const std::string& path);

// Writes a file readable by vncpasswd-compatible tools, mode 0600. It is written to a temporary
// file next to `path` and renamed over it, so a failure never leaves a truncated file behind.
Status write_password_file(const std::string& path, const VncPasswords& passwords);

}  // namespace vncd::security
