#include "security/des.h"

#include "security/secure_wipe.h"

// Tables from FIPS 46-3, "Data Encryption Standard", Appendix 1 (primitive functions) and the
// key schedule. Entries are the standard's 1-based bit numbers, bit 1 being the most significant
// bit of the input; permute() follows that numbering directly so the tables read as printed.

namespace vncd::security {
namespace {

constexpr uint8_t kInitialPermutation[64] = {
    58, 50, 42, 34, 26, 18, 10, 2,  60, 52, 44, 36, 28, 20, 12, 4,  62, 54, 46, 38, 30, 22,
    14, 6,  64, 56, 48, 40, 32, 24, 16, 8,  57, 49, 41, 33, 25, 17, 9,  1,  59, 51, 43, 35,
    27, 19, 11, 3,  61, 53, 45, 37, 29, 21, 13, 5,  63, 55, 47, 39, 31, 23, 15, 7,
};

constexpr uint8_t kFinalPermutation[64] = {
    40, 8,  48, 16, 56, 24, 64, 32, 39, 7,  47, 15, 55, 23, 63, 31, 38, 6,  46, 14, 54, 22,
    62, 30, 37, 5,  45, 13, 53, 21, 61, 29, 36, 4,  44, 12, 52, 20, 60, 28, 35, 3,  43, 11,
    51, 19, 59, 27, 34, 2,  42, 10, 50, 18, 58, 26, 33, 1,  41, 9,  49, 17, 57, 25,
};

// E: expands the 32-bit half block to 48 bits.
constexpr uint8_t kExpansion[48] = {
    32, 1,  2,  3,  4,  5,  4,  5,  6,  7,  8,  9,  8,  9,  10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
    16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
};

// P: permutes the 32 bits out of the S-boxes.
constexpr uint8_t kPermutation[32] = {
    16, 7, 20, 21, 29, 12, 28, 17, 1,  15, 23, 26, 5,  18, 31, 10,
    2,  8, 24, 14, 32, 27, 3,  9,  19, 13, 30, 6,  22, 11, 4,  25,
};

// PC-1: selects the 56 key bits (dropping the parity bits 8, 16, ..., 64) into C0 and D0.
constexpr uint8_t kPermutedChoice1[56] = {
    57, 49, 41, 33, 25, 17, 9,  1,  58, 50, 42, 34, 26, 18, 10, 2,  59, 51, 43,
    35, 27, 19, 11, 3,  60, 52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7,  62, 54,
    46, 38, 30, 22, 14, 6,  61, 53, 45, 37, 29, 21, 13, 5,  28, 20, 12, 4,
};

// PC-2: selects the 48 bits of each round key from CnDn.
constexpr uint8_t kPermutedChoice2[48] = {
    14, 17, 11, 24, 1,  5,  3,  28, 15, 6,  21, 10, 23, 19, 12, 4,  26, 8,  16, 7,  27, 20, 13, 2,
    41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
};

// Left shifts of C and D before each round.
constexpr uint8_t kShifts[16] = {1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1};

// S1..S8, each as 4 rows of 16 columns.
constexpr uint8_t kSBoxes[8][64] = {
    {14, 4,  13, 1, 2,  15, 11, 8, 3, 10, 6, 12, 5,  9,  0,  7,  0,  15, 7,  4,  14, 2,
     13, 1,  10, 6, 12, 11, 9,  5, 3, 8,  4, 1,  14, 8,  13, 6,  2,  11, 15, 12, 9,  7,
     3,  10, 5,  0, 15, 12, 8,  2, 4, 9,  1, 7,  5,  11, 3,  14, 10, 0,  6,  13},
    {15, 1,  8,  14, 6,  11, 3,  4, 9,  7,  2, 13, 12, 0,  5,  10, 3,  13, 4,  7, 15, 2,
     8,  14, 12, 0,  1,  10, 6,  9, 11, 5,  0, 14, 7,  11, 10, 4,  13, 1,  5,  8, 12, 6,
     9,  3,  2,  15, 13, 8,  10, 1, 3,  15, 4, 2,  11, 6,  7,  12, 0,  5,  14, 9},
    {10, 0,  9,  14, 6, 3,  15, 5,  1,  13, 12, 7, 11, 4,  2,  8,  13, 7, 0,  9, 3, 4,
     6,  10, 2,  8,  5, 14, 12, 11, 15, 1,  13, 6, 4,  9,  8,  15, 3,  0, 11, 1, 2, 12,
     5,  10, 14, 7,  1, 10, 13, 0,  6,  9,  8,  7, 4,  15, 14, 3,  11, 5, 2,  12},
    {7, 13, 14, 3, 0, 6,  9, 10, 1,  2, 8,  5, 11, 12, 4,  15, 13, 8,  11, 5, 6, 15,
     0, 3,  4,  7, 2, 12, 1, 10, 14, 9, 10, 6, 9,  0,  12, 11, 7,  13, 15, 1, 3, 14,
     5, 2,  8,  4, 3, 15, 0, 6,  10, 1, 13, 8, 9,  4,  5,  11, 12, 7,  2,  14},
    {2,  12, 4, 1,  7,  10, 11, 6, 8, 5,  3, 15, 13, 0,  14, 9,  14, 11, 2,  12, 4,  7,
     13, 1,  5, 0,  15, 10, 3,  9, 8, 6,  4, 2,  1,  11, 10, 13, 7,  8,  15, 9,  12, 5,
     6,  3,  0, 14, 11, 8,  12, 7, 1, 14, 2, 13, 6,  15, 0,  9,  10, 4,  5,  3},
    {12, 1,  10, 15, 9,  2,  6, 8,  0, 13, 3,  4,  14, 7,  5, 11, 10, 15, 4, 2, 7, 12,
     9,  5,  6,  1,  13, 14, 0, 11, 3, 8,  9,  14, 15, 5,  2, 8,  12, 3,  7, 0, 4, 10,
     1,  13, 11, 6,  4,  3,  2, 12, 9, 5,  15, 10, 11, 14, 1, 7,  6,  0,  8, 13},
    {4, 11, 2,  14, 15, 0,  8,  13, 3, 12, 9,  7, 5,  10, 6,  1,  13, 0,  11, 7,  4, 9,
     1, 10, 14, 3,  5,  12, 2,  15, 8, 6,  1,  4, 11, 13, 12, 3,  7,  14, 10, 15, 6, 8,
     0, 5,  9,  2,  6,  11, 13, 8,  1, 4,  10, 7, 9,  5,  0,  15, 14, 2,  3,  12},
    {13, 2, 8,  4, 6, 15, 11, 1,  10, 9,  3, 14, 5,  0,  12, 7,  1,  15, 13, 8, 10, 3,
     7,  4, 12, 5, 6, 11, 0,  14, 9,  2,  7, 11, 4,  1,  9,  12, 14, 2,  0,  6, 10, 13,
     15, 3, 5,  8, 2, 1,  14, 7,  4,  10, 8, 13, 15, 12, 9,  0,  3,  5,  6,  11},
};

// Output bit i (1-based, from the most significant) is input bit table[i-1], where the input is
// `in_bits` wide and numbered the same way.
template <size_t N>
uint64_t permute(uint64_t in, unsigned in_bits, const uint8_t (&table)[N]) {
  uint64_t out = 0;
  for (uint8_t pos : table) out = (out << 1) | ((in >> (in_bits - pos)) & 1);
  return out;
}

// The cipher function f(R, K).
uint32_t feistel(uint32_t r, uint64_t subkey) {
  uint64_t x = permute(r, 32, kExpansion) ^ subkey;
  uint32_t s = 0;
  for (unsigned box = 0; box < 8; ++box) {
    auto six = static_cast<unsigned>((x >> (42 - 6 * box)) & 0x3f);
    unsigned row = ((six >> 4) & 2) | (six & 1);
    unsigned col = (six >> 1) & 0xf;
    s = (s << 4) | kSBoxes[box][row * 16 + col];
  }
  return static_cast<uint32_t>(permute(s, 32, kPermutation));
}

uint64_t load_be64(std::span<const uint8_t, 8> b) {
  uint64_t v = 0;
  for (uint8_t byte : b) v = (v << 8) | byte;
  return v;
}

DesBlock store_be64(uint64_t v) {
  DesBlock out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return out;
}

uint32_t rotate28(uint32_t v, unsigned n) {
  return ((v << n) | (v >> (28 - n))) & 0x0fffffff;
}

}  // namespace

Des::Des(std::span<const uint8_t, kDesKeySize> key) {
  uint64_t cd = permute(load_be64(key), 64, kPermutedChoice1);
  auto c = static_cast<uint32_t>(cd >> 28);
  auto d = static_cast<uint32_t>(cd & 0x0fffffff);
  for (size_t round = 0; round < subkeys_.size(); ++round) {
    c = rotate28(c, kShifts[round]);
    d = rotate28(d, kShifts[round]);
    subkeys_[round] = permute((uint64_t{c} << 28) | d, 56, kPermutedChoice2);
  }
  secure_wipe(&cd, sizeof cd);
  secure_wipe(&c, sizeof c);
  secure_wipe(&d, sizeof d);
}

Des::~Des() {
  secure_wipe(subkeys_.data(), sizeof subkeys_);
}

uint64_t Des::crypt(uint64_t block, bool decrypt) const {
  uint64_t ip = permute(block, 64, kInitialPermutation);
  auto l = static_cast<uint32_t>(ip >> 32);
  auto r = static_cast<uint32_t>(ip);
  for (size_t round = 0; round < 16; ++round) {
    // Deciphering is enciphering with the round keys in reverse order (FIPS 46-3, "Deciphering").
    uint64_t k = subkeys_[decrypt ? 15 - round : round];
    uint32_t next = l ^ feistel(r, k);
    l = r;
    r = next;
  }
  // The preoutput block is R16 L16: the halves swap after the last round.
  return permute((uint64_t{r} << 32) | l, 64, kFinalPermutation);
}

DesBlock Des::encrypt(std::span<const uint8_t, kDesBlockSize> block) const {
  return store_be64(crypt(load_be64(block), false));
}

DesBlock Des::decrypt(std::span<const uint8_t, kDesBlockSize> block) const {
  return store_be64(crypt(load_be64(block), true));
}

}  // namespace vncd::security
