#include "encodings/trle_encoder.h"

#include "encodings/trle.h"

namespace vncd::enc {

void TrleEncoder::encode(const rfb::PixelView& pixels, const rfb::EncodeContext& /*ctx*/,
                         rfb::ByteBuffer& out) {
  encode_tiles(pixels, trle::kTrleTileSize, out);
}

}  // namespace vncd::enc
