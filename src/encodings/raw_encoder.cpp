#include "encodings/raw_encoder.h"

#include <cstring>

namespace vncd::enc {

void RawEncoder::encode(const rfb::PixelView& pixels, const rfb::EncodeContext& /*ctx*/,
                        rfb::ByteBuffer& out) {
  const size_t row_bytes =
      static_cast<size_t>(pixels.width) * static_cast<size_t>(pixels.format.bytes_per_pixel());
  uint8_t* dst = out.grow(row_bytes * static_cast<size_t>(pixels.height));
  if (pixels.stride == row_bytes) {
    std::memcpy(dst, pixels.data, row_bytes * static_cast<size_t>(pixels.height));
    return;
  }
  for (int y = 0; y < pixels.height; ++y, dst += row_bytes)
    std::memcpy(dst, pixels.row(y), row_bytes);
}

}  // namespace vncd::enc
