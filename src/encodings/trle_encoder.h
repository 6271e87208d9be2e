// TrleEncoder: the TRLE encoding (RFC 6143 7.7.5 "TRLE"; number 15 in rfbproto.rst's registered
// list): 16x16 tiles through the shared tile coder (trle.h), no compression. Stateless.
#pragma once

#include "rfb/encoder.h"

namespace vncd::enc {

class TrleEncoder final : public rfb::Encoder {
 public:
  int32_t encoding() const override { return rfb::encoding::kTRLE; }
  rfb::EncoderTraits traits() const override { return {}; }
  void encode(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
              rfb::ByteBuffer& out) override;
};

}  // namespace vncd::enc
