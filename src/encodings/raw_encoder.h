// RawEncoder: the Raw encoding (rfbproto.rst, "Raw Encoding"), pixels in the client's format,
// row by row. The one encoding every client accepts. Stateless.
#pragma once

#include "rfb/encoder.h"

namespace vncd::enc {

class RawEncoder final : public rfb::Encoder {
 public:
  int32_t encoding() const override { return rfb::encoding::kRaw; }
  rfb::EncoderTraits traits() const override {
    rfb::EncoderTraits t;
    t.cheap_solid = false;
    return t;
  }
  void encode(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
              rfb::ByteBuffer& out) override;
};

}  // namespace vncd::enc
