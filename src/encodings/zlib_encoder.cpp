#include "encodings/zlib_encoder.h"

#include <cstring>

namespace vncd::enc {

void ZlibEncoder::encode(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
                         rfb::ByteBuffer& out) {
  const size_t row_bytes =
      static_cast<size_t>(pixels.width) * static_cast<size_t>(pixels.format.bytes_per_pixel());
  const size_t total = row_bytes * static_cast<size_t>(pixels.height);
  std::span<const uint8_t> raw;
  if (pixels.stride == row_bytes || pixels.height <= 1) {
    raw = {pixels.data, total};
  } else {
    rows_.clear();
    uint8_t* d = rows_.grow(total);
    for (int y = 0; y < pixels.height; ++y, d += row_bytes)
      std::memcpy(d, pixels.row(y), row_bytes);
    raw = rows_.span();
  }
  const size_t length_at = out.size();
  out.u32(0);  // Patched below once the compressed size is known.
  // Without a CompressLevel pseudo-encoding (-1) the default applies again.
  const int level = ctx.settings.compress_level;
  stream_.compress(raw, out, level >= 0 && level <= 9 ? level : kDefaultCompressLevel, ctx.runner);
  out.patch_u32(length_at, static_cast<uint32_t>(out.size() - length_at - 4));
}

}  // namespace vncd::enc
