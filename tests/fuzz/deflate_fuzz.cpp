// Fuzz target: vncd's own deflate coders (deflate_literals, deflate_matches, deflate_lazy at a
// shallow and a deep chain, without and with a row stride) and ZlibStream
// mixing them with zlib in one stream. Whatever the input, zlib's inflate must give it back
// exactly, within the documented size bound, and a stream must stay decodable across strategy
// changes (the coders' output continues a stream whose window zlib also refers back into).
// Input: one byte of mode, then data. Mode bit 0: use the data as it is, else expand it into
// repeats of itself (matches at every distance up to the 32 KiB window and beyond); bits 1-3:
// the coders of three stream rounds (zlib's strategies, vncd's coders, compress_lazy); bits 4-7:
// how many times to repeat (expanded mode).
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "encodings/zlib_stream.h"
#include "rfb/wire.h"

namespace {

using vncd::enc::ZlibStream;
using vncd::rfb::ByteBuffer;

constexpr size_t kMaxInput = 256 * 1024;

// Inflates `in` (raw deflate when window_bits < 0, else zlib format) expecting exactly `want`.
bool inflates_to(std::span<const uint8_t> in, std::span<const uint8_t> want, int window_bits) {
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) __builtin_trap();
  std::vector<uint8_t> out(want.size() + 1);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_SYNC_FLUSH);
  const size_t produced = out.size() - z.avail_out;
  const bool consumed_all = z.avail_in == 0;
  inflateEnd(&z);
  // A sync-flushed stream that is not finished: Z_OK (or Z_BUF_ERROR for empty input).
  if (rc != Z_OK && !(rc == Z_BUF_ERROR && want.empty())) return false;
  return consumed_all && produced == want.size() &&
         std::equal(want.begin(), want.end(), out.begin());
}

void check_coder(void (*coder)(std::span<const uint8_t>, ByteBuffer&),
                 std::span<const uint8_t> in) {
  ByteBuffer out;
  out.u8(0xA5);  // What is already there stays.
  coder(in, out);
  if (out.size() < 1 || out.data()[0] != 0xA5) __builtin_trap();
  const std::span<const uint8_t> deflated(out.data() + 1, out.size() - 1);
  // Never more than stored blocks (5 bytes of header per 64 KiB, padding) and the marker.
  const size_t blocks = (in.size() + 65534) / 65535 +
                        (in.size() + vncd::enc::kLiteralBlock - 1) / vncd::enc::kLiteralBlock;
  if (deflated.size() > in.size() + 6 * blocks + 14) __builtin_trap();
  if (!inflates_to(deflated, in, -15)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const std::span<const uint8_t> payload(data + 1, size - 1);
  std::vector<uint8_t> in;
  if ((mode & 1) != 0 || payload.empty()) {
    in.assign(payload.begin(), payload.begin() + std::min(payload.size(), kMaxInput));
  } else {
    // Copies of the payload, each with one byte changed: long matches, broken at known places.
    const size_t copies = 1 + (mode >> 4) * 8;
    for (size_t c = 0; c < copies && in.size() + payload.size() <= kMaxInput; ++c) {
      const size_t at = in.size();
      in.insert(in.end(), payload.begin(), payload.end());
      in[at + c % payload.size()] ^= static_cast<uint8_t>(c + 1);
    }
  }
  check_coder(vncd::enc::deflate_literals, in);
  check_coder(vncd::enc::deflate_matches, in);
  check_coder(
      [](std::span<const uint8_t> d, ByteBuffer& o) { vncd::enc::deflate_lazy(d, 0, 2, o); }, in);
  check_coder(
      [](std::span<const uint8_t> d, ByteBuffer& o) { vncd::enc::deflate_lazy(d, 37, 8, o); }, in);

  // Three rounds of one stream, each a third of the input, with the strategies the mode picks.
  constexpr int kStrategies[] = {Z_DEFAULT_STRATEGY, Z_HUFFMAN_ONLY, ZlibStream::kGreedyMatches,
                                 Z_RLE};
  ZlibStream stream(2);
  ByteBuffer out;
  const size_t third = in.size() / 3;
  for (int round = 0; round < 3; ++round) {
    const size_t from = third * static_cast<size_t>(round);
    const size_t to = round == 2 ? in.size() : from + third;
    const std::span<const uint8_t> part = std::span<const uint8_t>(in).subspan(from, to - from);
    const int pick = ((mode >> (1 + round)) & 7) % 5;
    if (pick == 4)
      stream.compress_lazy(part, 64, 4, out);
    else
      stream.compress(part, out, -1, nullptr, kStrategies[pick]);
  }
  if (!inflates_to(out.span(), in, 15)) __builtin_trap();
  return 0;
}
