#include "encodings/zlib_stream.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstring>
#include <utility>

namespace vncd::enc {
namespace {

// Raw deflate (negative window bits): the zlib header is ours to write.
std::unique_ptr<z_stream> make_stream(int level, int strategy = Z_DEFAULT_STRATEGY) {
  auto z = std::make_unique<z_stream>();
  std::memset(z.get(), 0, sizeof(z_stream));
  int rc = deflateInit2(z.get(), level < 0 ? Z_DEFAULT_COMPRESSION : level, Z_DEFLATED, -15, 8,
                        strategy);
  // deflateInit fails only for bad arguments or out of memory: both are our bugs or fatal.
  assert(rc == Z_OK);
  (void)rc;
  return z;
}

void end_stream(std::unique_ptr<z_stream>& z) {
  if (z) deflateEnd(z.get());
  z.reset();
}

// Deflates all of `in` up to a Z_SYNC_FLUSH and appends the output to `out`.
void deflate_sync(z_stream& z, std::span<const uint8_t> in, rfb::ByteBuffer& out) {
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    // deflateBound covers a whole stream; a sync flush adds a few bytes more. Capped so that a
    // big input does not make its whole bound resident in `out` at once. Not zeroed: zlib
    // writes what it produces and the rest is truncated away.
    constexpr size_t kMaxRoom = 1 << 20;
    const size_t room = std::min<size_t>(deflateBound(&z, z.avail_in) + 64, kMaxRoom);
    const size_t before = out.size();
    uint8_t* dst = out.grow_for_overwrite(room);
    z.next_out = dst;
    z.avail_out = static_cast<uInt>(room);
    int rc = deflate(&z, Z_SYNC_FLUSH);
    assert(rc == Z_OK || rc == Z_BUF_ERROR);
    (void)rc;
    const size_t produced = room - z.avail_out;
    out.truncate(before + produced);  // Give back what grow() reserved beyond the output.
    if (z.avail_in == 0 && z.avail_out != 0) break;
  }
  // Never leave zlib pointing into buffers it does not own.
  z.next_in = nullptr;
  z.next_out = nullptr;
  z.avail_out = 0;
}

// Sets the level of a stream that has pending nothing (fresh or right after a sync flush);
// anything deflateParams emits belongs to the stream and goes to `out`.
void set_level(z_stream& z, int level, int strategy, rfb::ByteBuffer& out) {
  const size_t before = out.size();
  constexpr size_t kRoom = 64;
  z.next_in = nullptr;
  z.avail_in = 0;
  z.next_out = out.grow(kRoom);
  z.avail_out = kRoom;
  int rc = deflateParams(&z, level, strategy);
  assert(rc == Z_OK);
  (void)rc;
  out.truncate(before + (kRoom - z.avail_out));
  z.next_out = nullptr;
  z.avail_out = 0;
}

// Primes a reset raw stream with the data before its input.
void prime(z_stream& z, std::span<const uint8_t> dictionary) {
  if (dictionary.empty()) return;
  int rc = deflateSetDictionary(&z, dictionary.data(), static_cast<uInt>(dictionary.size()));
  assert(rc == Z_OK);
  (void)rc;
}

// RFC 1951 3.2.7: the order in which code length code lengths are sent.
constexpr uint8_t kCodeLengthOrder[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                          11, 4,  12, 3, 13, 2, 14, 1, 15};
constexpr int kMaxLiteralBits = 15;    // RFC 1951 3.2.7: literal/length code lengths 0..15.
constexpr int kMaxCodeLengthBits = 7;  // The code length code's lengths are 3-bit fields.
constexpr int kLiteralCodes = 257;     // 0..255 and end-of-block; no length codes are used.
constexpr int kEndOfBlock = 256;
constexpr size_t kMaxStored = 65535;  // A stored block's LEN is 16 bits.

// Huffman code lengths for freq[0..n) (n <= 288), none longer than max_bits; zero-frequency
// symbols get 0. At least two symbols get a code, so the code is complete, as inflate requires
// of the code length code (and as zlib itself always sends).
void huffman_lengths(const uint32_t* freq, int n, int max_bits, uint8_t* lengths) {
  std::array<uint32_t, 288> f{};
  int used = 0;
  for (int i = 0; i < n; ++i) {
    f[static_cast<size_t>(i)] = freq[i];
    used += freq[i] != 0;
  }
  for (int i = 0; used < 2 && i < n; ++i)
    if (f[static_cast<size_t>(i)] == 0) {
      f[static_cast<size_t>(i)] = 1;
      ++used;
    }
  std::array<uint16_t, 288> leaf{};    // Symbols by increasing frequency.
  std::array<uint32_t, 576> weight{};  // Leaves 0..m-1, then internal nodes m..2m-2.
  std::array<uint16_t, 576> parent{};
  std::array<uint8_t, 576> depth{};
  for (;;) {
    int m = 0;
    for (int i = 0; i < n; ++i)
      if (f[static_cast<size_t>(i)] != 0) leaf[static_cast<size_t>(m++)] = static_cast<uint16_t>(i);
    std::sort(leaf.begin(), leaf.begin() + m,
              [&](uint16_t a, uint16_t b) { return f[a] != f[b] ? f[a] < f[b] : a < b; });
    for (int i = 0; i < m; ++i) weight[static_cast<size_t>(i)] = f[leaf[static_cast<size_t>(i)]];
    // Two-queue Huffman: leaves in order, internal nodes in the order made (also sorted).
    int next_leaf = 0, next_inner = m, made = m;
    auto take = [&] {
      if (next_leaf < m && (next_inner == made || weight[static_cast<size_t>(next_leaf)] <=
                                                      weight[static_cast<size_t>(next_inner)]))
        return next_leaf++;
      return next_inner++;
    };
    while (made < 2 * m - 1) {
      const int a = take(), b = take();
      weight[static_cast<size_t>(made)] =
          weight[static_cast<size_t>(a)] + weight[static_cast<size_t>(b)];
      parent[static_cast<size_t>(a)] = parent[static_cast<size_t>(b)] = static_cast<uint16_t>(made);
      ++made;
    }
    // Parents come after their children: depths from the root down.
    const int root = 2 * m - 2;
    depth[static_cast<size_t>(root)] = 0;
    int longest = 0;
    for (int i = root - 1; i >= 0; --i) {
      depth[static_cast<size_t>(i)] =
          static_cast<uint8_t>(depth[parent[static_cast<size_t>(i)]] + 1);
      if (i < m) longest = std::max<int>(longest, depth[static_cast<size_t>(i)]);
    }
    if (longest <= max_bits) {
      std::fill(lengths, lengths + n, uint8_t{0});
      for (int i = 0; i < m; ++i)
        lengths[leaf[static_cast<size_t>(i)]] = depth[static_cast<size_t>(i)];
      return;
    }
    // Too deep (very skewed counts): flatten the distribution and build again.
    for (int i = 0; i < n; ++i)
      if (f[static_cast<size_t>(i)] != 0)
        f[static_cast<size_t>(i)] = (f[static_cast<size_t>(i)] >> 1) | 1;
  }
}

// Canonical codes (RFC 1951 3.2.2) for lengths[0..n), bit-reversed: deflate sends Huffman codes
// most significant bit first into an LSB-first bit stream.
void canonical_codes(const uint8_t* lengths, int n, uint16_t* codes) {
  std::array<uint16_t, 16> count{}, next{};
  for (int i = 0; i < n; ++i) ++count[lengths[i]];
  count[0] = 0;
  uint16_t code = 0;
  for (int bits = 1; bits < 16; ++bits) {
    code = static_cast<uint16_t>((code + count[static_cast<size_t>(bits - 1)]) << 1);
    next[static_cast<size_t>(bits)] = code;
  }
  for (int i = 0; i < n; ++i) {
    const int len = lengths[i];
    if (len == 0) {
      codes[i] = 0;
      continue;
    }
    uint16_t c = next[static_cast<size_t>(len)]++, r = 0;
    for (int b = 0; b < len; ++b, c = static_cast<uint16_t>(c >> 1))
      r = static_cast<uint16_t>((r << 1) | (c & 1));
    codes[i] = r;
  }
}

// An LSB-first bit stream written into memory with at least 8 bytes of slack past its end.
class BitWriter {
 public:
  explicit BitWriter(uint8_t* p) : p_(p) {}
  // acc_ holds fewer than 8 bits after each flush(); callers put at most 56 bits in between.
  void put(uint64_t bits, int n) {
    acc_ |= bits << n_;
    n_ += n;
  }
  void flush() {
    uint64_t v = acc_;
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    std::memcpy(p_, &v, 8);
    const int bytes = n_ >> 3;
    p_ += bytes;
    acc_ = bytes == 0 ? acc_ : acc_ >> (8 * bytes);
    n_ &= 7;
  }
  // Pads with zero bits to a byte boundary.
  void align() {
    flush();
    if (n_ > 0) {
      n_ = 8;
      flush();
    }
  }
  void bytes(const uint8_t* src, size_t n) {
    assert(n_ == 0);
    std::memcpy(p_, src, n);
    p_ += n;
  }
  uint8_t* position() const { return p_; }
  int pending_bits() const { return n_; }

 private:
  uint8_t* p_;
  uint64_t acc_ = 0;
  int n_ = 0;
};

// A stored block header (BFINAL 0, BTYPE 00), the padding to a byte, LEN and NLEN.
void put_stored_header(BitWriter& w, size_t len) {
  w.put(0, 3);
  w.align();
  const uint8_t h[4] = {static_cast<uint8_t>(len), static_cast<uint8_t>(len >> 8),
                        static_cast<uint8_t>(~len), static_cast<uint8_t>(~len >> 8)};
  w.bytes(h, 4);
}

// One block of `in`: dynamic Huffman over literals, or stored when that would be smaller.
// Code lengths for both alphabets, run-length coded with 17 and 18 (zero runs) as RFC 1951 3.2.7
// allows across the two; returns the ops and fills the code length code's frequencies.
size_t code_length_ops(const uint8_t* all, size_t n, std::array<uint8_t, 2 * 320>& ops,
                       std::array<uint32_t, 19>& cl_freq) {
  size_t n_ops = 0;
  for (size_t i = 0; i < n;) {
    size_t run = 1;
    if (all[i] == 0)
      while (i + run < n && all[i + run] == 0 && run < 138) ++run;
    uint8_t symbol = all[i], extra = 0;
    if (all[i] == 0 && run >= 11) {
      symbol = 18;
      extra = static_cast<uint8_t>(run - 11);
    } else if (all[i] == 0 && run >= 3) {
      symbol = 17;
      extra = static_cast<uint8_t>(run - 3);
    } else {
      run = 1;
    }
    ops[2 * n_ops] = symbol;
    ops[2 * n_ops + 1] = extra;
    ++n_ops;
    ++cl_freq[symbol];
    i += run;
  }
  return n_ops;
}

int extra_bits_of(uint8_t cl_symbol) {
  return cl_symbol == 16 ? 2 : cl_symbol == 17 ? 3 : cl_symbol == 18 ? 7 : 0;
}

// A dynamic block's header (RFC 1951 3.2.7): HLIT, HDIST, HCLEN, the code length code, then both
// alphabets' code lengths run-length coded with it.
class DynamicHeader {
 public:
  DynamicHeader(const uint8_t* lit_len, int hlit, const uint8_t* dist_len, int hdist)
      : hlit_(hlit), hdist_(hdist) {
    uint8_t len[kMaxLengthCodes];  // Both alphabets' lengths, back to back.
    std::memcpy(len, lit_len, static_cast<size_t>(hlit));
    std::memcpy(len + hlit, dist_len, static_cast<size_t>(hdist));
    std::array<uint32_t, 19> cl_freq{};
    n_ops_ = code_length_ops(len, static_cast<size_t>(hlit + hdist), ops_, cl_freq);
    huffman_lengths(cl_freq.data(), 19, kMaxCodeLengthBits, cl_len_);
    while (hclen_ > 4 && cl_len_[kCodeLengthOrder[hclen_ - 1]] == 0) --hclen_;
  }
  // The header's size in bits, block type included.
  uint64_t bits() const {
    uint64_t bits = 3 + 5 + 5 + 4 + 3 * static_cast<uint64_t>(hclen_);
    for (size_t i = 0; i < n_ops_; ++i)
      bits += static_cast<uint64_t>(cl_len_[ops_[2 * i]] + extra_bits_of(ops_[2 * i]));
    return bits;
  }
  void write(BitWriter& w) const {
    w.put(0b100, 3);  // BFINAL 0, BTYPE 10 (dynamic).
    w.put(static_cast<uint64_t>(hlit_ - 257), 5);
    w.put(static_cast<uint64_t>(hdist_ - 1), 5);
    w.put(static_cast<uint64_t>(hclen_ - 4), 4);
    w.flush();
    for (int i = 0; i < hclen_; ++i) {
      w.put(cl_len_[kCodeLengthOrder[i]], 3);
      w.flush();
    }
    uint16_t cl_code[19];
    canonical_codes(cl_len_, 19, cl_code);
    for (size_t i = 0; i < n_ops_; ++i) {
      const uint8_t s = ops_[2 * i];
      w.put(cl_code[s], cl_len_[s]);
      w.put(ops_[2 * i + 1], extra_bits_of(s));
      w.flush();
    }
  }

 private:
  static constexpr int kMaxLengthCodes = 286 + 30;
  int hlit_, hdist_;
  int hclen_ = 19;
  std::array<uint8_t, 2 * 320> ops_{};
  size_t n_ops_ = 0;
  uint8_t cl_len_[19];
};

// Bytes `n` input bytes take as stored blocks (5 bytes of header per kMaxStored).
size_t stored_size(size_t n) {
  return n + 5 * ((n + kMaxStored - 1) / kMaxStored);
}

void put_stored(std::span<const uint8_t> in, BitWriter& w) {
  for (size_t at = 0; at < in.size(); at += kMaxStored) {
    const size_t n = std::min(kMaxStored, in.size() - at);
    put_stored_header(w, n);
    w.bytes(in.data() + at, n);
  }
}

void literal_block(std::span<const uint8_t> in, BitWriter& w) {
  std::array<uint32_t, kLiteralCodes> freq{};
  {
    // Four tables break the store-to-load chain of equal neighbouring bytes.
    std::array<std::array<uint32_t, 256>, 4> h{};
    const uint8_t* s = in.data();
    size_t i = 0;
    for (; i + 4 <= in.size(); i += 4) {
      ++h[0][s[i]];
      ++h[1][s[i + 1]];
      ++h[2][s[i + 2]];
      ++h[3][s[i + 3]];
    }
    for (; i < in.size(); ++i) ++h[0][s[i]];
    for (size_t b = 0; b < 256; ++b) freq[b] = h[0][b] + h[1][b] + h[2][b] + h[3][b];
  }
  freq[kEndOfBlock] = 1;
  uint8_t lit_len[kLiteralCodes];
  huffman_lengths(freq.data(), kLiteralCodes, kMaxLiteralBits, lit_len);

  // No length or distance codes occur; the distance alphabet is two 1-bit codes, as zlib sends.
  const uint8_t dist_len[2] = {1, 1};
  const DynamicHeader header(lit_len, kLiteralCodes, dist_len, 2);
  uint64_t bits = header.bits();
  for (int s = 0; s < kLiteralCodes; ++s)
    bits += uint64_t{freq[static_cast<size_t>(s)]} * lit_len[s];
  if ((bits + 7) / 8 >= stored_size(in.size())) {
    put_stored(in, w);
    return;
  }
  header.write(w);
  uint16_t code[kLiteralCodes];
  canonical_codes(lit_len, kLiteralCodes, code);
  // Up to 3 codes of at most 15 bits on top of 7 pending: one flush per 3 literals. A local
  // copy of the writer: its state stays in registers (stores through `w` could alias it).
  BitWriter lw = w;
  const uint8_t* s = in.data();
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    lw.put(code[s[i]], lit_len[s[i]]);
    lw.put(code[s[i + 1]], lit_len[s[i + 1]]);
    lw.put(code[s[i + 2]], lit_len[s[i + 2]]);
    lw.flush();
  }
  for (; i < in.size(); ++i) {
    lw.put(code[s[i]], lit_len[s[i]]);
    lw.flush();
  }
  w = lw;
  w.put(code[kEndOfBlock], lit_len[kEndOfBlock]);
  w.flush();
}

// deflate_matches(): greedy LZ77 with one candidate per hash, coded in dynamic Huffman blocks.
constexpr int kLengthSymbols = 286;  // 0..255, end-of-block, 29 length codes (RFC 1951 3.2.5).
constexpr int kDistanceSymbols = 30;
constexpr int kMinMatch = 3, kMaxMatch = 258;
constexpr size_t kMaxDistance = 32768;
constexpr int kHashBits = 15;
// Positions inside a match are hashed only for matches up to this long (zlib's level 1 rule):
// longer ones are skipped over, which costs little ratio and most of the time.
constexpr int kMaxInsert = 4;
// Input bytes per Huffman block: at most one stored block's worth, as the output bound assumes.
constexpr size_t kMatchBlock = kMaxStored;

// RFC 1951 3.2.5: length code base values and extra bits for codes 257..285.
constexpr uint16_t kLengthBase[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                      15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr uint8_t kLengthExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr uint16_t kDistanceBase[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr uint8_t kDistanceExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                        6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

struct CodeTables {
  std::array<uint8_t, kMaxMatch + 1> length_code{};  // Match length -> code index 0..28.
  std::array<uint8_t, 512> distance_code{};          // See distance_code_of().
  CodeTables() {
    for (int c = 0; c < 29; ++c) {
      const int end = c == 28 ? kMaxMatch + 1 : kLengthBase[c + 1];
      for (int l = kLengthBase[c]; l < end; ++l)
        length_code[static_cast<size_t>(l)] = static_cast<uint8_t>(c);
    }
    length_code[kMaxMatch] = 28;  // 258 has its own code (227..257 take code 27).
    for (int c = 0; c < 30; ++c) {
      const int end = c == 29 ? 32769 : kDistanceBase[c + 1];
      for (int d = kDistanceBase[c]; d < end; ++d) {
        if (d <= 256)
          distance_code[static_cast<size_t>(d - 1)] = static_cast<uint8_t>(c);
        else
          distance_code[256 + static_cast<size_t>((d - 1) >> 7)] = static_cast<uint8_t>(c);
      }
    }
  }
  // zlib's two-level table: distances 1..256 directly, larger ones by their top bits.
  int distance_code_of(size_t d) const {
    return d <= 256 ? distance_code[d - 1] : distance_code[256 + ((d - 1) >> 7)];
  }
};
const CodeTables& code_tables() {
  static const CodeTables t;  // Immutable once built (thread-safe static initialisation).
  return t;
}

// A literal (distance 0, value the byte) or a match (length, distance).
struct Symbol {
  uint16_t distance;
  uint16_t value;
};

// RFC 1951 3.2.6: the fixed Huffman codes, which cost no header: small blocks (a glyph, a
// repeat of a recent rectangle) are cheaper in them than with a dynamic table of their own.
struct FixedCodes {
  uint8_t lit_len[kLengthSymbols], dist_len[kDistanceSymbols];
  uint16_t lit_code[kLengthSymbols], dist_code[kDistanceSymbols];
  FixedCodes() {
    uint8_t all[288];  // The code is over 288 symbols; 286 and 287 never occur.
    for (int s = 0; s < 288; ++s) all[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
    uint16_t codes[288];
    canonical_codes(all, 288, codes);
    std::memcpy(lit_len, all, sizeof lit_len);
    std::memcpy(lit_code, codes, sizeof lit_code);
    std::fill(std::begin(dist_len), std::end(dist_len), uint8_t{5});
    canonical_codes(dist_len, kDistanceSymbols, dist_code);
  }
};
const FixedCodes& fixed_codes() {
  static const FixedCodes f;  // Immutable once built (thread-safe static initialisation).
  return f;
}

// Bits of the symbols counted in lit_freq and dist_freq under the given code lengths.
uint64_t symbol_bits(const uint32_t* lit_freq, const uint32_t* dist_freq, const uint8_t* lit_len,
                     const uint8_t* dist_len) {
  uint64_t bits = 0;
  for (int s = 0; s < kLengthSymbols; ++s) {
    const uint64_t extra = s > 256 ? kLengthExtra[s - 257] : 0;
    bits += uint64_t{lit_freq[s]} * (lit_len[s] + extra);
  }
  for (int s = 0; s < kDistanceSymbols; ++s)
    bits += uint64_t{dist_freq[s]} * (dist_len[s] + uint64_t{kDistanceExtra[s]});
  return bits;
}

// One block: `symbols` code `in` (the block's input, for the stored form), in whichever of
// stored, fixed and dynamic Huffman is smallest.
void match_block(std::span<const uint8_t> in, const Symbol* symbols, size_t n_symbols,
                 const uint32_t* lit_freq, const uint32_t* dist_freq, BitWriter& w) {
  const CodeTables& t = code_tables();
  const FixedCodes& fixed = fixed_codes();
  uint8_t dyn_lit_len[kLengthSymbols], dyn_dist_len[kDistanceSymbols];
  huffman_lengths(lit_freq, kLengthSymbols, kMaxLiteralBits, dyn_lit_len);
  huffman_lengths(dist_freq, kDistanceSymbols, kMaxLiteralBits, dyn_dist_len);
  int hlit = kLengthSymbols, hdist = kDistanceSymbols;
  while (hlit > 257 && dyn_lit_len[hlit - 1] == 0) --hlit;
  while (hdist > 1 && dyn_dist_len[hdist - 1] == 0) --hdist;
  const DynamicHeader header(dyn_lit_len, hlit, dyn_dist_len, hdist);
  const uint64_t dynamic_bits =
      header.bits() + symbol_bits(lit_freq, dist_freq, dyn_lit_len, dyn_dist_len);
  const uint64_t fixed_bits = 3 + symbol_bits(lit_freq, dist_freq, fixed.lit_len, fixed.dist_len);
  if ((std::min(dynamic_bits, fixed_bits) + 7) / 8 >= stored_size(in.size())) {
    put_stored(in, w);
    return;
  }
  const bool use_fixed = fixed_bits <= dynamic_bits;
  uint16_t dyn_lit_code[kLengthSymbols], dyn_dist_code[kDistanceSymbols];
  if (use_fixed) {
    w.put(0b010, 3);  // BFINAL 0, BTYPE 01 (fixed Huffman codes).
    w.flush();
  } else {
    header.write(w);
    canonical_codes(dyn_lit_len, kLengthSymbols, dyn_lit_code);
    canonical_codes(dyn_dist_len, kDistanceSymbols, dyn_dist_code);
  }
  const uint8_t* const lit_len = use_fixed ? fixed.lit_len : dyn_lit_len;
  const uint8_t* const dist_len = use_fixed ? fixed.dist_len : dyn_dist_len;
  const uint16_t* const lit_code = use_fixed ? fixed.lit_code : dyn_lit_code;
  const uint16_t* const dist_code = use_fixed ? fixed.dist_code : dyn_dist_code;
  BitWriter lw = w;  // In registers: stores through `w` could alias it.
  for (size_t i = 0; i < n_symbols; ++i) {
    const Symbol s = symbols[i];
    if (s.distance == 0) {
      lw.put(lit_code[s.value], lit_len[s.value]);
    } else {
      // At most 15 + 5 + 15 + 13 bits on top of 7 pending.
      const int lc = t.length_code[s.value];
      lw.put(lit_code[257 + lc], lit_len[257 + lc]);
      lw.put(static_cast<uint64_t>(s.value - kLengthBase[lc]), kLengthExtra[lc]);
      const int dc = t.distance_code_of(s.distance);
      lw.put(dist_code[dc], dist_len[dc]);
      lw.put(static_cast<uint64_t>(s.distance - kDistanceBase[dc]), kDistanceExtra[dc]);
    }
    lw.flush();
  }
  lw.put(lit_code[kEndOfBlock], lit_len[kEndOfBlock]);
  lw.flush();
  w = lw;
}

inline uint32_t hash3(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return ((v & 0xFFFFFF) * 2654435761u) >> (32 - kHashBits);
}

// Length of the common prefix of a and b, at most `limit` bytes.
inline size_t match_length(const uint8_t* a, const uint8_t* b, size_t limit) {
  size_t m = 0;
  if constexpr (std::endian::native == std::endian::little) {
    for (; m + 8 <= limit; m += 8) {
      uint64_t x, y;
      std::memcpy(&x, a + m, 8);
      std::memcpy(&y, b + m, 8);
      if (x != y) return m + static_cast<size_t>(std::countr_zero(x ^ y) / 8);
    }
  }
  while (m < limit && a[m] == b[m]) ++m;
  return m;
}

// deflate_lazy(): hash chains over 4-byte prefixes, one step of lazy evaluation.
// 16K heads (64 KiB): a Tight client's lazy streams (two per lane) hold several tables, and
// at 32K heads they crowded the cache: full-frame Tight+JPEG on the e2e mixed screen took about
// 3% more CPU (ff harness, 5 alternating rounds) for 0.07% fewer bytes.
constexpr int kChainHashBits = 14;
constexpr size_t kChainWindow = 32768;  // prev slots: positions modulo the window.

// The search's limits for a chain depth (bench_encode "deflate Tight indexes ..."): a match this
// long ends the search at once; one shorter than the lazy limit is checked against a match one
// byte on; positions inside one no longer than it are hashed (longer matches are runs and
// repeated rows, whose positions would fill the chains with candidates that all say the same).
// The lazy limit is the chain depth (at least 8). At chain 8 (Tight's level 3) 8 rather than 16
// costs 5.5% more bytes of the e2e mixed screen's text indexes (bench_encode "deflate Tight
// indexes own lazy 8") for 17% less time; of a whole full-frame Tight+JPEG update, 0.55% more
// bytes of the mixed screen and 3.2% of the UI screen for 2.4% and 8% fewer instructions
// (callgrind). Level 3 is on the speed side of Tight's scale (zlib's own level 4 looks on only
// below 4); levels from 4 keep zlib. The look one byte on
// for a match already `good` long walks half the chain (zlib's good_length): on the e2e
// full-frame screens 0.8% (mixed) and 2.6% (UI) fewer instructions per Tight update for 0.01%
// and 0.07% more bytes (a quarter of the chain saved more but cost 4% on synthetic text).
struct LazyLimits {
  size_t nice, lazy, good = 8;
  explicit LazyLimits(int max_chain)
      : nice(std::clamp<size_t>(8 * static_cast<size_t>(max_chain), 16, kMaxMatch)),
        lazy(std::clamp<size_t>(static_cast<size_t>(max_chain), 8, 32)) {}
};

inline uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline uint32_t hash4(const uint8_t* p) {
  return (load32(p) * 2654435761u) >> (32 - kChainHashBits);
}

// Hash chains kept across calls, so that no call pays for clearing or faulting in 192 KiB.
// Entries are tags, 1 + a position in the owner's numbering of its input; a call's buffer starts
// at position base_, so tags at or below base_ are before it. A thread's matcher numbers each
// call afresh (fresh_base()); a stream's numbers its whole input, so the chains of earlier calls
// lead into the history at the front of the buffer.
class ChainMatcher {
 public:
  ChainMatcher() : head_(size_t{1} << kChainHashBits, 0), prev_(kChainWindow, 0) {}

  void clear() {
    std::fill(head_.begin(), head_.end(), 0);
    std::fill(prev_.begin(), prev_.end(), 0);
    next_base_ = 0;
  }

  // A base for a call of n bytes past every tag so far (the chains then offer nothing).
  uint32_t fresh_base(size_t n) {
    if (uint64_t{next_base_} + n + 2 >= UINT32_MAX) clear();
    const uint32_t base = next_base_;
    next_base_ = static_cast<uint32_t>(base + n + 1);
    return base;
  }

  // The buffer s[0..n) holds positions base .. base + n - 1 (base + n + 1 < 2^32).
  void start(const uint8_t* s, uint32_t base, size_t stride, int max_chain,
             const LazyLimits& limits) {
    base_ = base;
    s_ = s;
    stride_ = stride <= kMaxDistance ? stride : 0;
    max_chain_ = max_chain;
    nice_ = limits.nice;
    good_ = limits.good;
  }

  // Hashes position i (i + 4 <= n).
  void insert(size_t i) {
    const uint32_t h = hash4(s_ + i);
    prev_[tag(i) & (kChainWindow - 1)] = head_[h];
    head_[h] = tag(i);
  }

  // The longest match for position i, hashing it: at most `limit` bytes, counting only if longer
  // than `at_least` (half the chain when that is already good). Returns its length (0 when
  // none) and sets *distance.
  size_t longest(size_t i, size_t limit, size_t at_least, size_t* distance) {
    const uint32_t h = hash4(s_ + i);
    uint32_t candidate = head_[h];
    prev_[tag(i) & (kChainWindow - 1)] = candidate;
    head_[h] = tag(i);
    size_t best = at_least;
    const uint8_t* const here = s_ + i;
    if (best >= limit) return 0;
    // The row above first: in a raster it is the likeliest long match, and often far down the
    // chain behind nearer repeats.
    if (stride_ != 0 && i >= stride_) {
      const uint8_t* c = here - stride_;
      if (c[best] == here[best]) {
        const size_t m = match_length(c, here, limit);
        if (m > best) {
          best = m;
          *distance = stride_;
        }
      }
    }
    if (best >= limit) return best;
    // A candidate can beat `best` only if it agrees on the 4 bytes ending at here[best] (and on
    // the first 4, which the hash does not promise): two loads reject most of them.
    const uint32_t head = load32(here);
    uint32_t tail = load32(here + best - 3);
    const int chain_limit = at_least >= good_ ? std::max(1, max_chain_ / 2) : max_chain_;
    for (int chain = chain_limit; candidate > base_ && chain > 0 && best < nice_; --chain) {
      const size_t c = candidate - base_ - 1;
      if (i - c > kMaxDistance) break;
      const uint8_t* cp = s_ + c;
      if (load32(cp + best - 3) == tail && load32(cp) == head) {
        const size_t m = match_length(cp, here, limit);
        if (m > best) {
          best = m;
          *distance = i - c;
          if (m >= limit) break;
          tail = load32(here + best - 3);
        }
      }
      const uint32_t next = prev_[candidate & (kChainWindow - 1)];
      if (next >= candidate) break;  // The slot was since taken by a newer position.
      candidate = next;
    }
    return best > at_least ? best : 0;
  }

 private:
  uint32_t tag(size_t i) const { return static_cast<uint32_t>(base_ + i + 1); }

  const uint8_t* s_ = nullptr;
  size_t stride_ = 0;
  int max_chain_ = 1;
  size_t nice_ = 16;
  size_t good_ = 8;  // A match this long already (the lazy look) searches half as deep.
  uint32_t base_ = 0, next_base_ = 0;
  std::vector<uint32_t> head_;  // Newest position's tag per hash.
  std::vector<uint32_t> prev_;  // The tag of the position before it with the same hash, per slot.
};

// deflate_lazy() of buf[history..), whose matches may reach back into buf[0..history): the
// stream's input before this call, which the inflater holds. `matcher` was started on buf.
void deflate_lazy_after(ChainMatcher& matcher, std::span<const uint8_t> buf, size_t history,
                        int max_chain, rfb::ByteBuffer& out) {
  const CodeTables& t = code_tables();
  const size_t n = buf.size();
  const size_t blocks = (n - history + kMatchBlock - 1) / kMatchBlock;
  const size_t bound = n - history + 6 * blocks + 6 + 8;  // As deflate_matches().
  const size_t before = out.size();
  uint8_t* const base = out.grow_for_overwrite(bound);
  BitWriter w(base);
  thread_local std::vector<Symbol> symbols(kMatchBlock);
  const LazyLimits limits(max_chain);
  const uint8_t* const s = buf.data();
  for (size_t start = history; start < n; start += kMatchBlock) {
    const size_t end = std::min(n, start + kMatchBlock);
    std::array<uint32_t, kLengthSymbols> lit_freq{};
    std::array<uint32_t, kDistanceSymbols> dist_freq{};
    Symbol* sym = symbols.data();
    auto literal = [&](size_t i) {
      *sym++ = {0, s[i]};
      ++lit_freq[s[i]];
    };
    size_t i = start;
    // hash4 reads 4 bytes: the last 3 of the input are literals.
    const size_t hashed_end = n >= 4 ? std::min(end, n - 3) : start;
    while (i < hashed_end) {
      size_t distance = 0;
      size_t m = matcher.longest(i, std::min<size_t>(kMaxMatch, end - i), kMinMatch, &distance);
      if (m == 0) {
        literal(i++);
        continue;
      }
      // One step of lazy evaluation: a longer match one byte on wins over this one.
      while (m < limits.lazy && i + 1 < hashed_end) {
        size_t d2 = 0;
        const size_t m2 = matcher.longest(i + 1, std::min<size_t>(kMaxMatch, end - i - 1), m, &d2);
        if (m2 == 0) break;
        literal(i++);
        m = m2;
        distance = d2;
      }
      *sym++ = {static_cast<uint16_t>(distance), static_cast<uint16_t>(m)};
      ++lit_freq[257 + static_cast<size_t>(t.length_code[m])];
      ++dist_freq[static_cast<size_t>(t.distance_code_of(distance))];
      // The lazy look (when it ran) hashed the position after the match's start.
      if (m <= limits.lazy) {
        const size_t last = std::min(i + m, hashed_end);
        for (size_t k = i + (m < limits.lazy ? 2 : 1); k < last; ++k) matcher.insert(k);
      }
      i += m;
    }
    while (i < end) literal(i++);
    lit_freq[kEndOfBlock] = 1;
    match_block(buf.subspan(start, end - start), symbols.data(),
                static_cast<size_t>(sym - symbols.data()), lit_freq.data(), dist_freq.data(), w);
  }
  put_stored_header(w, 0);  // The sync-flush marker.
  out.truncate(before + static_cast<size_t>(w.position() - base));
}

}  // namespace

// compress_lazy()'s state: hash chains over the stream's input (positions counted from the
// matcher's epoch), and a buffer for history and input when the input is too large for
// window_ to hold both.
struct ZlibStream::LazyState {
  ChainMatcher matcher;
  uint64_t epoch = 0;      // The stream position of tag 1.
  uint64_t hashed_to = 0;  // The chains hold (at most) the positions before this one.
  std::vector<uint8_t> buf;
};

void deflate_lazy(std::span<const uint8_t> in, size_t stride, int max_chain, rfb::ByteBuffer& out) {
  // Positions are tagged with 32-bit numbers (ChainMatcher): far more than any frame holds.
  assert(in.size() < UINT32_MAX / 2);
  thread_local ChainMatcher matcher;
  max_chain = std::max(1, max_chain);
  matcher.start(in.data(), matcher.fresh_base(in.size()), stride, max_chain, LazyLimits(max_chain));
  deflate_lazy_after(matcher, in, 0, max_chain, out);
}

double sampled_deflate_ratio(std::span<const uint8_t> in) {
  constexpr size_t kSample = 8 * 1024;
  if (in.size() < 4 * kSample) return 1.0;
  z_stream z{};
  // A 4 KiB window and small hash: enough to see runs and near repeats, cheap to set up.
  if (deflateInit2(&z, 1, Z_DEFLATED, -12, 6, Z_DEFAULT_STRATEGY) != Z_OK) return 1.0;
  uint8_t buf[kSample + 512];
  size_t total_in = 0, total_out = 0;
  for (size_t at : {in.size() / 3, 2 * (in.size() / 3)}) {
    deflateReset(&z);
    z.next_in = const_cast<Bytef*>(in.data() + at - kSample / 2);
    z.avail_in = kSample;
    z.next_out = buf;
    z.avail_out = sizeof buf;
    deflate(&z, Z_SYNC_FLUSH);
    total_in += kSample;
    total_out += sizeof buf - z.avail_out;
  }
  deflateEnd(&z);
  return static_cast<double>(total_out) / static_cast<double>(total_in);
}

void deflate_literals(std::span<const uint8_t> in, rfb::ByteBuffer& out) {
  static_assert(kLiteralBlock <= kMaxStored, "the output bound assumes one stored block each");
  const size_t blocks = (in.size() + kLiteralBlock - 1) / kLiteralBlock;
  // Each block is at most its stored form (5 bytes of header) plus a byte of padding; then the
  // marker (a byte of padding, 4 of LEN/NLEN) and BitWriter's slack.
  const size_t bound = in.size() + 6 * blocks + 6 + 8;
  const size_t before = out.size();
  uint8_t* const base = out.grow_for_overwrite(bound);
  BitWriter w(base);
  for (size_t at = 0; at < in.size(); at += kLiteralBlock)
    literal_block(in.subspan(at, std::min(kLiteralBlock, in.size() - at)), w);
  put_stored_header(w, 0);  // The sync-flush marker: an empty stored block.
  out.truncate(before + static_cast<size_t>(w.position() - base));
}

void deflate_matches(std::span<const uint8_t> in, rfb::ByteBuffer& out) {
  const CodeTables& t = code_tables();
  const size_t n = in.size();
  const size_t blocks = (n + kMatchBlock - 1) / kMatchBlock;
  // As deflate_literals(): no block is larger than its stored form plus a byte of padding.
  const size_t bound = n + 6 * blocks + 6 + 8;
  const size_t before = out.size();
  uint8_t* const base = out.grow_for_overwrite(bound);
  BitWriter w(base);
  std::vector<uint32_t> head(size_t{1} << kHashBits, 0);  // Last position + 1 per hash.
  std::vector<Symbol> symbols(n == 0 ? 0 : std::min(n, kMatchBlock));
  const uint8_t* const s = in.data();
  for (size_t start = 0; start < n; start += kMatchBlock) {
    const size_t end = std::min(n, start + kMatchBlock);
    std::array<uint32_t, kLengthSymbols> lit_freq{};
    std::array<uint32_t, kDistanceSymbols> dist_freq{};
    size_t ns = 0;
    size_t i = start;
    while (i < end) {
      // hash3 loads 4 bytes; matches stay inside the block.
      if (i + 4 <= n && end - i >= static_cast<size_t>(kMinMatch)) {
        const uint32_t h = hash3(s + i);
        const size_t candidate = head[h];
        head[h] = static_cast<uint32_t>(i + 1);
        if (candidate != 0 && i - (candidate - 1) <= kMaxDistance) {
          const size_t m =
              match_length(s + candidate - 1, s + i, std::min<size_t>(kMaxMatch, end - i));
          if (m >= static_cast<size_t>(kMinMatch)) {
            const size_t distance = i - (candidate - 1);
            symbols[ns++] = {static_cast<uint16_t>(distance), static_cast<uint16_t>(m)};
            ++lit_freq[257 + static_cast<size_t>(t.length_code[m])];
            ++dist_freq[static_cast<size_t>(t.distance_code_of(distance))];
            if (m <= static_cast<size_t>(kMaxInsert))
              for (size_t k = i + 1; k < i + m && k + 4 <= n; ++k)
                head[hash3(s + k)] = static_cast<uint32_t>(k + 1);
            i += m;
            continue;
          }
        }
      }
      symbols[ns++] = {0, s[i]};
      ++lit_freq[s[i]];
      ++i;
    }
    lit_freq[kEndOfBlock] = 1;
    match_block(in.subspan(start, end - start), symbols.data(), ns, lit_freq.data(),
                dist_freq.data(), w);
  }
  put_stored_header(w, 0);  // The sync-flush marker.
  out.truncate(before + static_cast<size_t>(w.position() - base));
}

struct ZlibStream::Chunk {
  std::unique_ptr<z_stream> z;
  int level = -2;
  int strategy = Z_DEFAULT_STRATEGY;
  std::vector<uint8_t> dictionary;
  rfb::ByteBuffer out;
  ~Chunk() { end_stream(z); }
};

ZlibStream::ZlibStream(int level)
    : z_(make_stream(level)), level_(level < 0 ? 6 : level), z_level_(level_) {}

ZlibStream::~ZlibStream() {
  end_stream(z_);
}

ZlibStream::ZlibStream(ZlibStream&& o) noexcept
    : z_(std::move(o.z_)),
      level_(o.level_),
      z_level_(o.z_level_),
      strategy_(o.strategy_),
      z_strategy_(o.z_strategy_),
      header_due_(o.header_due_),
      z_stale_(o.z_stale_),
      window_(std::move(o.window_)),
      total_in_(o.total_in_),
      lazy_(std::move(o.lazy_)),
      chunks_(std::move(o.chunks_)) {}

ZlibStream& ZlibStream::operator=(ZlibStream&& o) noexcept {
  if (this != &o) {
    end_stream(z_);
    z_ = std::move(o.z_);
    level_ = o.level_;
    z_level_ = o.z_level_;
    strategy_ = o.strategy_;
    z_strategy_ = o.z_strategy_;
    header_due_ = o.header_due_;
    z_stale_ = o.z_stale_;
    window_ = std::move(o.window_);
    total_in_ = o.total_in_;
    lazy_ = std::move(o.lazy_);
    chunks_ = std::move(o.chunks_);
  }
  return *this;
}

void ZlibStream::reset() {
  assert(z_);
  deflateReset(z_.get());
  header_due_ = true;
  z_stale_ = false;
  window_.clear();
}

void ZlibStream::remember(std::span<const uint8_t> in) {
  total_in_ += in.size();
  if (in.size() >= kWindow) {
    window_.assign(in.end() - kWindow, in.end());
    return;
  }
  // The buffer runs up to two windows before its head is dropped: a Tight update makes dozens
  // of small calls, and sliding a full window down for each copied megabytes per frame. A full
  // window stays before the new input, so that compress_lazy() finds input and history together.
  if (window_.size() + in.size() > 2 * kWindow) {
    const size_t keep = std::min(window_.size(), kWindow);
    window_.erase(window_.begin(), window_.end() - static_cast<std::ptrdiff_t>(keep));
  }
  window_.insert(window_.end(), in.begin(), in.end());
}

std::span<const uint8_t> ZlibStream::window() const {
  const size_t n = std::min(window_.size(), kWindow);
  return {window_.data() + window_.size() - n, n};
}

void ZlibStream::begin(int level, int strategy, rfb::ByteBuffer& out) {
  assert(z_);
  if (level >= 0 && level <= 9) level_ = level;
  strategy_ = strategy;
  if (header_due_) {
    // RFC 1950: CMF 0x78 (deflate, 32 KiB window), FLG with FLEVEL as zlib writes it for this
    // level and FCHECK making the pair a multiple of 31; no preset dictionary.
    const int flevel = level_ < 2 ? 0 : level_ < 6 ? 1 : level_ == 6 ? 2 : 3;
    int flg = flevel << 6;
    flg += 31 - ((0x78 * 256 + flg) % 31);
    out.u8(0x78);
    out.u8(static_cast<uint8_t>(flg));
    header_due_ = false;
  }
}

void ZlibStream::compress_serial(std::span<const uint8_t> in, rfb::ByteBuffer& out) {
  if (z_stale_) {
    // Chunk streams wrote the last output; this one carries on from their input.
    deflateReset(z_.get());
    prime(*z_, window());
    z_stale_ = false;
  }
  if (z_level_ != level_ || z_strategy_ != strategy_) {
    set_level(*z_, level_, strategy_, out);
    z_level_ = level_;
    z_strategy_ = strategy_;
  }
  deflate_sync(*z_, in, out);
}

void ZlibStream::compress_independent(std::span<const std::span<const uint8_t>> pieces,
                                      rfb::ByteBuffer& out, rfb::TaskRunner* runner,
                                      void (*deflater)(std::span<const uint8_t>,
                                                       rfb::ByteBuffer&)) {
  // These deflaters use no dictionary: pieces are independent, in parallel at no cost in ratio.
  if (!runner || runner->concurrency() <= 1) {
    for (const auto& p : pieces) {
      if (p.empty()) continue;
      deflater(p, out);
      remember(p);
    }
  } else {
    while (chunks_.size() < pieces.size()) chunks_.push_back(std::make_unique<Chunk>());
    runner->run(pieces.size(), [&](size_t i) {
      Chunk& c = *chunks_[i];
      c.out.clear();
      if (!pieces[i].empty()) deflater(pieces[i], c.out);
    });
    for (size_t i = 0; i < pieces.size(); ++i) {
      out.append(chunks_[i]->out.span());
      chunks_[i]->out.clear();
      chunks_[i]->out.shrink_to(kKeptChunkCapacity);
      remember(pieces[i]);
    }
  }
  // z_ did not see this input: the next deflate through it starts over, primed with its end.
  z_stale_ = true;
}

void ZlibStream::compress_lazy(std::span<const uint8_t> in, size_t stride, int max_chain,
                               rfb::ByteBuffer& out) {
  begin(-1, strategy_, out);
  if (in.empty()) return;
  if (!lazy_) lazy_ = std::make_unique<LazyState>();
  LazyState& st = *lazy_;
  // The matches may reach into the stream's last kWindow bytes, whichever path deflated them:
  // the inflater holds them all.
  const std::span<const uint8_t> kept = window();
  const size_t history = kept.size();
  const uint64_t first = total_in_ - history, end_of_history = total_in_;
  if (first - st.epoch + history + in.size() + 2 >= UINT32_MAX) {
    st.matcher.clear();  // Tags would overflow: start the chains over.
    st.epoch = st.hashed_to = first;
  }
  // History and input back to back: remember() leaves them so at the end of window_, unless
  // the input is a window or more (then they are copied).
  std::span<const uint8_t> buf;
  if (in.size() < kWindow) {
    remember(in);
    buf = {window_.data() + window_.size() - in.size() - history, history + in.size()};
  } else {
    st.buf.assign(kept.begin(), kept.end());
    st.buf.insert(st.buf.end(), in.begin(), in.end());
    remember(in);
    buf = st.buf;
  }
  max_chain = std::max(1, max_chain);
  st.matcher.start(buf.data(), static_cast<uint32_t>(first - st.epoch), stride, max_chain,
                   LazyLimits(max_chain));
  // History the chains have not seen: other paths' input, and the last call's final 3 bytes
  // (too few after them to hash then). Between lazy calls that is 3 positions.
  for (uint64_t p = std::max(st.hashed_to, first); p < end_of_history; ++p) {
    const size_t k = static_cast<size_t>(p - first);
    if (k + 4 <= buf.size()) st.matcher.insert(k);
  }
  deflate_lazy_after(st.matcher, buf, history, max_chain, out);
  st.hashed_to = end_of_history + in.size() - std::min<size_t>(3, in.size());
  if (st.buf.capacity() > 4 * kWindow) std::vector<uint8_t>().swap(st.buf);
  z_stale_ = true;  // z_ did not see this input.
}

void ZlibStream::compress(std::span<const uint8_t> in, rfb::ByteBuffer& out, int level,
                          rfb::TaskRunner* runner, int strategy) {
  const size_t lanes = runner ? runner->concurrency() : 1;
  const size_t chunks = std::min(lanes, in.size() / kMinParallelChunk);
  if (chunks <= 1) {
    const std::span<const uint8_t> whole[1] = {in};
    compress_pieces(whole, out, level, nullptr, strategy);
    return;
  }
  // Equal chunks, deflated in parallel as pieces of one input.
  std::vector<std::span<const uint8_t>> pieces;
  const size_t per = (in.size() + chunks - 1) / chunks;
  for (size_t start = 0; start < in.size(); start += per)
    pieces.push_back(in.subspan(start, std::min(per, in.size() - start)));
  compress_pieces(pieces, out, level, runner, strategy);
}

void ZlibStream::compress_pieces(std::span<const std::span<const uint8_t>> pieces,
                                 rfb::ByteBuffer& out, int level, rfb::TaskRunner* runner,
                                 int strategy) {
  begin(level, strategy, out);
  size_t busy = 0;
  for (const auto& p : pieces) busy += p.empty() ? 0 : 1;
  if (strategy_ == Z_HUFFMAN_ONLY && level_ > 0) {
    compress_independent(pieces, out, busy > 1 ? runner : nullptr, deflate_literals);
    return;
  }
  if (strategy_ == kGreedyMatches) {
    compress_independent(pieces, out, busy > 1 ? runner : nullptr, deflate_matches);
    return;
  }
  if (!runner || runner->concurrency() <= 1 || busy <= 1) {
    for (const auto& p : pieces) {
      if (p.empty()) continue;
      compress_serial(p, out);
      remember(p);
    }
    return;
  }
  while (chunks_.size() < pieces.size()) chunks_.push_back(std::make_unique<Chunk>());
  // Each piece's dictionary: the last kWindow bytes of everything before it, gathered from the
  // earlier pieces (newest first) and then window_.
  for (size_t i = 0; i < pieces.size(); ++i) {
    std::vector<uint8_t>& dict = chunks_[i]->dictionary;
    dict.assign(kWindow, 0);
    size_t need = kWindow;
    for (size_t j = i; j-- > 0 && need > 0;) {
      const size_t n = std::min(need, pieces[j].size());
      if (n == 0) continue;  // memcpy must not see an empty span's null pointer.
      std::memcpy(dict.data() + need - n, pieces[j].data() + pieces[j].size() - n, n);
      need -= n;
    }
    if (need > 0) {
      const std::span<const uint8_t> w = window();
      const size_t n = std::min(need, w.size());
      if (n > 0) std::memcpy(dict.data() + need - n, w.data() + w.size() - n, n);
      need -= n;
    }
    dict.erase(dict.begin(), dict.begin() + static_cast<std::ptrdiff_t>(need));
  }
  const int lvl = level_, strat = strategy_;
  runner->run(pieces.size(), [&](size_t i) {
    Chunk& c = *chunks_[i];
    c.out.clear();
    if (pieces[i].empty()) return;
    if (!c.z || c.level != lvl || c.strategy != strat) {
      end_stream(c.z);
      c.z = make_stream(lvl, strat);
      c.level = lvl;
      c.strategy = strat;
    } else {
      deflateReset(c.z.get());
    }
    prime(*c.z, c.dictionary);
    deflate_sync(*c.z, pieces[i], c.out);
  });
  for (size_t i = 0; i < pieces.size(); ++i) {
    out.append(chunks_[i]->out.span());
    chunks_[i]->out.clear();
    chunks_[i]->out.shrink_to(kKeptChunkCapacity);
    remember(pieces[i]);
  }
  z_stale_ = true;
}

}  // namespace vncd::enc
