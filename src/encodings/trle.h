// TRLE/ZRLE tile coder: CPIXEL layout, run lengths, per-tile choice of subencoding and the tile
// writer shared by TrleEncoder (16x16 tiles, no zlib) and ZrleEncoder (64x64 tiles in one zlib
// stream). Free functions over PixelViews in the client's format; no state, any thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "encodings/palette.h"
#include "rfb/frame.h"
#include "rfb/wire.h"

namespace vncd::enc {

// rfbproto.rst "ZRLE Encoding" (and RFC 6143 7.7.5 "TRLE"): tile subencoding bytes and limits.
namespace trle {
inline constexpr uint8_t kRaw = 0;
inline constexpr uint8_t kSolid = 1;
inline constexpr uint8_t kReusePackedPalette = 127;  // TRLE only: palette of a previous tile.
inline constexpr uint8_t kPlainRle = 128;
inline constexpr uint8_t kReusePaletteRle = 129;  // TRLE only: palette of a previous tile.
inline constexpr uint8_t kRleBit = 128;           // Palette RLE is 128 + palette size.
inline constexpr int kMaxPackedPalette = 16;      // Packed palette subencodings 2..16.
inline constexpr int kMaxRlePalette = 127;        // Palette RLE subencodings 130..255.
inline constexpr int kTrleTileSize = 16;
inline constexpr int kZrleTileSize = 64;
}  // namespace trle

// Where a CPIXEL comes from: `size` bytes starting `offset` bytes into a pixel as stored in the
// client's byte order. A 3-byte CPIXEL keeps the pixel's byte order and drops the byte that
// holds no colour bits.
struct CPixelLayout {
  uint8_t size = 4;
  uint8_t offset = 0;
  bool operator==(const CPixelLayout&) const = default;
};

// The CPIXEL of `pf` per rfbproto.rst "ZRLE Encoding": 3 bytes when true colour, 32 bpp, depth
// <= 24 and every colour bit lies in the least significant 3 bytes (preferred when both fit) or
// the most significant 3 bytes; otherwise the whole pixel. Note TigerVNC and libvncserver test
// only the channel bits, not depth: they differ from the spec for depth 25..32 formats whose
// channels fit in 3 bytes (which no common viewer requests).
CPixelLayout cpixel_layout(const rfb::PixelFormat& pf);

// The run-length field shared by plain and palette RLE: floor((length - 1) / 255) bytes of 255,
// then (length - 1) % 255. `length` >= 1.
size_t run_length_size(uint32_t length);
void write_run_length(uint32_t length, rfb::ByteBuffer& out);

// Bits per index in a packed palette tile of `palette_size` (2..16) colours: 1, 2 or 4.
int packed_index_bits(int palette_size);
// Bytes of packed indexes for a width x height tile (each row padded to a whole byte).
size_t packed_indexes_size(int width, int height, int bits);

enum class TileType : uint8_t { kRaw, kSolid, kPackedPalette, kPlainRle, kPaletteRle };

struct TilePlan {
  TileType type = TileType::kRaw;
  size_t size = 0;  // Exact bytes of the encoded tile, subencoding byte included.
};

// Analyses one tile (1..255 pixels wide and high is typical; any size works): fills `palette`
// with its colours in first-seen order (incomplete once the tile has more than kMaxRlePalette)
// and picks the smallest of solid, packed palette, palette RLE, plain RLE and raw by their exact
// sizes (ties go to the earlier of raw, plain RLE, palette RLE, packed palette).
TilePlan plan_tile(const rfb::PixelView& tile, CPixelLayout cpixel, Palette& palette);

// Appends exactly plan.size bytes: the tile in the planned subencoding. `palette` is the one
// plan_tile() filled for this tile.
void write_tile(const rfb::PixelView& tile, CPixelLayout cpixel, const TilePlan& plan,
                const Palette& palette, rfb::ByteBuffer& out);

// Encodes `rect` (client format) as tile_size x tile_size tiles, left to right, top to bottom,
// the last column and row narrower as needed: the TRLE rectangle payload, and ZRLE's data before
// compression. Never emits the TRLE-only palette reuse subencodings, so the output is valid ZRLE.
void encode_tiles(const rfb::PixelView& rect, int tile_size, rfb::ByteBuffer& out);

}  // namespace vncd::enc
