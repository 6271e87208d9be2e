// ZlibEncoder: the Zlib encoding (rfbproto.rst "zlib Encoding"): Raw pixels in the client's
// format through the connection's one zlib stream. Made per connection (the stream lives across
// updates); one thread at a time.
#pragma once

#include "encodings/zlib_stream.h"
#include "rfb/encoder.h"

namespace vncd::enc {

class ZlibEncoder final : public rfb::Encoder {
 public:
  // Used when the client sends no CompressLevel pseudo-encoding. Raw pixels leave all the work
  // to deflate, so this sits above ZRLE's default; libvncserver uses 5 as well.
  static constexpr int kDefaultCompressLevel = 5;

  ZlibEncoder() : stream_(kDefaultCompressLevel) {}

  int32_t encoding() const override { return rfb::encoding::kZlib; }
  rfb::EncoderTraits traits() const override {
    rfb::EncoderTraits t;
    t.cheap_solid = false;  // Every pixel still goes through deflate.
    t.max_lanes = 1;        // One zlib stream; encode() spreads a rectangle over ctx.runner.
    return t;
  }
  // U32 length, then the rectangle's Raw encoding deflated up to a Z_SYNC_FLUSH.
  void encode(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
              rfb::ByteBuffer& out) override;

 private:
  ZlibStream stream_;
  rfb::ByteBuffer rows_;  // Gathers rows when the view has padding between them.
};

}  // namespace vncd::enc
