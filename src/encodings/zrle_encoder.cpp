#include "encodings/zrle_encoder.h"

#include "encodings/trle.h"

namespace vncd::enc {

void ZrleEncoder::encode(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
                         rfb::ByteBuffer& out) {
  tiles_.clear();
  encode_tiles(pixels, trle::kZrleTileSize, tiles_);
  const size_t length_at = out.size();
  out.u32(0);  // Patched below once the compressed size is known.
  // Without a CompressLevel pseudo-encoding (-1) the default applies again.
  const int level = ctx.settings.compress_level;
  stream_.compress(tiles_.span(), out, level >= 0 && level <= 9 ? level : kDefaultCompressLevel);
  out.patch_u32(length_at, static_cast<uint32_t>(out.size() - length_at - 4));
}

}  // namespace vncd::enc
