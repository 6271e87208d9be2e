// ZlibStream: one RAII deflate stream that lives as long as a connection's encoder (RFB's Zlib,
// ZRLE and Tight keep their streams across updates). Move-only; one thread at a time (it may
// spread one compress() call over a TaskRunner, and waits for it).
#pragma once

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "rfb/task_runner.h"
#include "rfb/wire.h"

namespace vncd::enc {

// How well a quick level-1 deflate packs a few samples of `in` (compressed / original bytes; 1.0
// for input too short to tell). Cheap (two 8 KiB samples): lets an encoder pick a cheaper
// strategy for data deflate barely shrinks (photos after ZRLE's tile coder).
double sampled_deflate_ratio(std::span<const uint8_t> in);

// Input bytes per block of deflate_literals(): each block gets its own Huffman table.
inline constexpr size_t kLiteralBlock = 16 * 1024;

// Appends `in` as raw deflate blocks (RFC 1951) that code literals only: dynamic Huffman blocks
// with one table per kLiteralBlock bytes, or stored blocks where those would be smaller; then an
// empty stored block (what a Z_SYNC_FLUSH ends with), so the output ends on a byte boundary and
// continues any raw deflate stream that ended on one. The format of zlib's Z_HUFFMAN_ONLY at a
// fraction of its CPU: no per-symbol tally, no match state, a word-at-a-time bit writer.
void deflate_literals(std::span<const uint8_t> in, rfb::ByteBuffer& out);

// Appends `in` as raw deflate blocks like deflate_literals(), with matches: greedy LZ77 with one
// candidate per 3-byte hash, within `in` only (no dictionary from earlier input), one dynamic
// Huffman table per 64 KiB of input. About zlib level 1's ratio on ZRLE tile data at a fraction
// of its CPU; pieces are independent, so they deflate in parallel with no priming.
void deflate_matches(std::span<const uint8_t> in, rfb::ByteBuffer& out);

// Appends `in` as raw deflate blocks like deflate_matches(), with a deeper search: hash chains
// over 4-byte prefixes (at most `max_chain` candidates per position), one step of lazy
// evaluation, and for raster data (`stride` > 0: bytes per row) the row above tried first. Within
// `in` only (no dictionary from earlier input). On Tight's palette indexes of terminal text
// (bench_encode "deflate Tight indexes"): chain 2 packs 23% smaller than zlib level 1 at 0.4x its
// CPU, chain 8 within 9% of zlib level 5 at a quarter of its CPU. Keeps 192 KiB of hash chains per
// calling thread across calls.
void deflate_lazy(std::span<const uint8_t> in, size_t stride, int max_chain, rfb::ByteBuffer& out);

class ZlibStream {
 public:
  // A strategy beyond zlib's: each piece through deflate_matches() (no dictionary across
  // pieces, so for large pieces only, where it costs a few per cent of ratio).
  static constexpr int kGreedyMatches = 100;

  // Input shorter than this per chunk is not worth a chunk of its own: each chunk costs a
  // dictionary load (32 KiB hashed) and a few bytes of flush, and restarts the match search.
  static constexpr size_t kMinParallelChunk = 64 * 1024;
  // deflate's window: each chunk is primed with this much of the data before it.
  static constexpr size_t kWindow = 32 * 1024;

  // level 0..9; -1 means zlib's default (6).
  explicit ZlibStream(int level = -1);
  ~ZlibStream();
  ZlibStream(ZlibStream&&) noexcept;
  ZlibStream& operator=(ZlibStream&&) noexcept;
  ZlibStream(const ZlibStream&) = delete;
  ZlibStream& operator=(const ZlibStream&) = delete;

  // Compresses `in` and appends everything up to a Z_SYNC_FLUSH boundary to `out`, so the client
  // can decode it now while the dictionary carries on into the next call. A changed `level`
  // (-1 = keep) takes effect from this call. With a `runner` of concurrency > 1 and enough
  // input, pigz-style: the input is cut into chunks deflated at the same time, each primed with
  // the 32 KiB before it (deflateSetDictionary) and ended by a sync flush, so their concatenation
  // is the same single zlib stream the client inflates (slightly larger: matches cannot cross a
  // chunk boundary's lazy state).
  // `strategy` is zlib's (Z_DEFAULT_STRATEGY, Z_RLE, ...) or kGreedyMatches, for this call on;
  // Z_HUFFMAN_ONLY at level > 0 is deflate_literals() (the same format), not zlib.
  void compress(std::span<const uint8_t> in, rfb::ByteBuffer& out, int level = -1,
                rfb::TaskRunner* runner = nullptr, int strategy = Z_DEFAULT_STRATEGY);

  // The same stream continued by several inputs back to back (the bands of one rectangle), so
  // that their concatenation never has to exist. With a `runner` of concurrency > 1 each
  // non-empty piece is one pigz chunk (primed with the 32 KiB of input before it, across earlier
  // pieces and calls); otherwise each is deflated in turn. Either way `out` gets one valid
  // continuation of the stream.
  void compress_pieces(std::span<const std::span<const uint8_t>> pieces, rfb::ByteBuffer& out,
                       int level = -1, rfb::TaskRunner* runner = nullptr,
                       int strategy = Z_DEFAULT_STRATEGY);

  // Compresses `in`, raster bytes `stride` per row, with deflate_lazy()'s search at `max_chain`
  // (level stays as it was), continuing the stream like compress(); zlib carries on from its
  // end. Unlike deflate_lazy(), matches reach back into the stream's last 32 KiB of input, as
  // zlib's do, through hash chains kept across calls (192 KiB, made on the first call).
  void compress_lazy(std::span<const uint8_t> in, size_t stride, int max_chain,
                     rfb::ByteBuffer& out);

  // Per-chunk output buffers larger than this are given back after each call (bytes).
  static constexpr size_t kKeptChunkCapacity = 1 << 20;

  // Starts a fresh stream (Tight's stream reset).
  void reset();

  int level() const { return level_; }

 private:
  struct Chunk;
  struct LazyState;
  void remember(std::span<const uint8_t> in);
  // The last kWindow bytes of input (fewer at the start of the stream).
  std::span<const uint8_t> window() const;
  void begin(int level, int strategy, rfb::ByteBuffer& out);
  void compress_serial(std::span<const uint8_t> in, rfb::ByteBuffer& out);
  // Z_HUFFMAN_ONLY (level > 0) and kGreedyMatches: `deflater` per piece instead of zlib.
  void compress_independent(std::span<const std::span<const uint8_t>> pieces, rfb::ByteBuffer& out,
                            rfb::TaskRunner* runner,
                            void (*deflater)(std::span<const uint8_t>, rfb::ByteBuffer&));

  // The stream is raw deflate; the 2-byte zlib header (RFC 1950) is written by us once at the
  // start, so chunks deflated by other z_streams continue the same stream. The Adler-32 trailer
  // never comes: the stream is never finished.
  std::unique_ptr<z_stream> z_;
  int level_;    // For the next compress().
  int z_level_;  // z_'s.
  int strategy_ = Z_DEFAULT_STRATEGY;
  int z_strategy_ = Z_DEFAULT_STRATEGY;
  bool header_due_ = true;
  bool z_stale_ = false;             // The last output came from chunk streams: z_ must re-prime.
  std::vector<uint8_t> window_;      // Recent input, up to two windows of it: see window().
  uint64_t total_in_ = 0;            // Bytes of input since the stream began (across resets).
  std::unique_ptr<LazyState> lazy_;  // compress_lazy()'s hash chains, made on its first call.
  std::vector<std::unique_ptr<Chunk>> chunks_;  // Per-lane deflaters, kept for reuse.
};

}  // namespace vncd::enc
