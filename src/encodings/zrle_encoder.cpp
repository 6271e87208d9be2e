#include "encodings/zrle_encoder.h"

#include <algorithm>

#include "encodings/trle.h"

namespace vncd::enc {

void ZrleEncoder::encode(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
                         rfb::ByteBuffer& out) {
  tiles_.clear();
  const int tile = trle::kZrleTileSize;
  const int tile_rows = (pixels.height + tile - 1) / tile;
  const size_t lanes =
      ctx.runner ? std::min<size_t>(ctx.runner->concurrency(), static_cast<size_t>(tile_rows)) : 1;
  if (lanes <= 1) {
    encode_tiles(pixels, tile, tiles_);
  } else {
    // Tiles go left to right, top to bottom, each on its own: bands of whole tile rows encoded
    // apart and joined in order are byte for byte the serial tile data.
    if (bands_.size() < lanes) bands_.resize(lanes);
    const int rows_per = (tile_rows + static_cast<int>(lanes) - 1) / static_cast<int>(lanes);
    ctx.runner->run(lanes, [&](size_t i) {
      bands_[i].clear();
      const int y = static_cast<int>(i) * rows_per * tile;
      if (y >= pixels.height) return;
      const int h = std::min(rows_per * tile, pixels.height - y);
      encode_tiles(pixels.sub({0, y, pixels.width, h}), tile, bands_[i]);
    });
    for (size_t i = 0; i < lanes; ++i) tiles_.append(bands_[i].span());
  }
  const size_t length_at = out.size();
  out.u32(0);  // Patched below once the compressed size is known.
  // Without a CompressLevel pseudo-encoding (-1) the default applies again.
  const int level = ctx.settings.compress_level;
  // Tile data deflate barely shrinks (photos: the tile coder left raw tiles with no repeats)
  // costs deflate's full match search for ~1%: Z_RLE finds the runs that remain at a third
  // of the CPU (bench/encode "deflate ZRLE tiles" rows).
  const int strategy =
      sampled_deflate_ratio(tiles_.span()) > kIncompressibleRatio ? Z_RLE : Z_DEFAULT_STRATEGY;
  stream_.compress(tiles_.span(), out, level >= 0 && level <= 9 ? level : kDefaultCompressLevel,
                   ctx.runner, strategy);
  out.patch_u32(length_at, static_cast<uint32_t>(out.size() - length_at - 4));
}

}  // namespace vncd::enc
