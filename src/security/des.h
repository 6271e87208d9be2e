// DES: the FIPS 46-3 Data Encryption Standard block cipher on single 8-byte blocks (ECB), for VNC
// Authentication and vncpasswd files only. Value type, no shared state; DES is broken: use it for
// nothing else.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace vncd::security {

inline constexpr size_t kDesBlockSize = 8;
inline constexpr size_t kDesKeySize = 8;
using DesBlock = std::array<uint8_t, kDesBlockSize>;
using DesKey = std::array<uint8_t, kDesKeySize>;

// One DES key schedule. Keys are in FIPS 46-3 bit order: bit 1 is the most significant bit of
// key[0], and the least significant bit of each byte is parity (ignored). VNC's keys use the
// opposite bit order; vnc_auth.h converts them before they get here.
class Des {
 public:
  explicit Des(std::span<const uint8_t, kDesKeySize> key);
  ~Des();  // Wipes the key schedule: it is as secret as the key.
  Des(const Des&) = delete;
  Des& operator=(const Des&) = delete;

  DesBlock encrypt(std::span<const uint8_t, kDesBlockSize> block) const;
  DesBlock decrypt(std::span<const uint8_t, kDesBlockSize> block) const;

 private:
  uint64_t crypt(uint64_t block, bool decrypt) const;

  std::array<uint64_t, 16> subkeys_{};  // 48-bit round keys K1..K16, right-aligned.
};

}  // namespace vncd::security
