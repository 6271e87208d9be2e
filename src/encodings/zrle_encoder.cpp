#include "encodings/zrle_encoder.h"

#include <algorithm>
#include <span>

#include "encodings/trle.h"

namespace vncd::enc {

void ZrleEncoder::encode(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
                         rfb::ByteBuffer& out) {
  const int tile = trle::kZrleTileSize;
  const rfb::PixelFormat& pf = pixels.format;
  const size_t row_bytes =
      static_cast<size_t>(std::max(pixels.width, 1)) * static_cast<size_t>(pf.bytes_per_pixel());
  const size_t tile_row_bytes = row_bytes * static_cast<size_t>(tile);
  const int band_h = tile * static_cast<int>(std::max<size_t>(
                                1, (kBandBytes + tile_row_bytes - 1) / tile_row_bytes));
  const int band_count = (pixels.height + band_h - 1) / band_h;
  const size_t lanes = ctx.runner ? std::clamp<size_t>(ctx.runner->concurrency(), 1,
                                                       static_cast<size_t>(std::max(band_count, 1)))
                                  : 1;
  if (bands_.size() < lanes) bands_.resize(lanes);

  // Tiles go left to right, top to bottom, each on its own: bands of whole tile rows encoded
  // apart and joined in order are byte for byte the serial tile data.
  auto tile_band = [&](int y, Band& b) {
    b.tiles.clear();
    const int h = std::min(band_h, pixels.height - y);
    encode_tiles(pixels.sub({0, y, pixels.width, h}), tile, b.tiles);
  };

  const size_t length_at = out.size();
  out.u32(0);  // Patched below once the compressed size is known.
  // Without a CompressLevel pseudo-encoding (-1) the default applies again.
  const int level = ctx.settings.compress_level >= 0 && ctx.settings.compress_level <= 9
                        ? ctx.settings.compress_level
                        : kDefaultCompressLevel;
  int strategy = -1;  // Chosen on the first round's data.
  std::vector<std::span<const uint8_t>> spans(lanes);
  const int round_h = band_h * static_cast<int>(lanes);
  for (int y0 = 0; y0 < pixels.height; y0 += round_h) {
    const size_t n =
        std::min(lanes, static_cast<size_t>((pixels.height - y0 + band_h - 1) / band_h));
    if (n > 1) {
      ctx.runner->run(n,
                      [&](size_t i) { tile_band(y0 + static_cast<int>(i) * band_h, bands_[i]); });
    } else {
      tile_band(y0, bands_[0]);
    }
    spans.resize(n);
    size_t largest = 0;
    for (size_t i = 0; i < n; ++i) {
      spans[i] = bands_[i].tiles.span();
      if (spans[i].size() > spans[largest].size()) largest = i;
    }
    if (strategy < 0) {
      // Large bands at the fast levels (the default, TigerVNC's 2) go through our greedy
      // matcher: zlib level 1-2's ratio (+2% bytes on the e2e photo's tiles) at half its CPU,
      // and bands need no priming; it finds the byte runs Z_RLE would in tile data that barely
      // deflates (photos: raw tiles with few repeats). Small rectangles keep zlib and its
      // dictionary: their repeats are in earlier rectangles.
      const bool incompressible = sampled_deflate_ratio(spans[largest]) > kIncompressibleRatio;
      const bool large = spans[largest].size() >= kGreedyMinBytes;
      if (incompressible)
        strategy = large ? Z_HUFFMAN_ONLY : Z_RLE;
      else if (large && level >= 1 && level <= kGreedyMaxLevel)
        strategy = ZlibStream::kGreedyMatches;
      else
        strategy = Z_DEFAULT_STRATEGY;
    }
    stream_.compress_pieces(spans, out, level, n > 1 ? ctx.runner : nullptr, strategy);
  }
  for (Band& b : bands_) {
    b.tiles.clear();
    b.tiles.shrink_to(kKeptCapacity);
  }
  out.patch_u32(length_at, static_cast<uint32_t>(out.size() - length_at - 4));
}

}  // namespace vncd::enc
