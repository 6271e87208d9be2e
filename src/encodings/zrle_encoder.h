// ZrleEncoder: the ZRLE encoding (rfbproto.rst "ZRLE Encoding"): 64x64 tiles through the shared
// tile coder (trle.h), the whole rectangle compressed through the connection's one zlib stream.
// Made per connection (the stream lives across updates); one thread at a time.
#pragma once

#include <vector>

#include "encodings/zlib_stream.h"
#include "rfb/encoder.h"

namespace vncd::enc {

class ZrleEncoder final : public rfb::Encoder {
 public:
  // Used when the client sends no CompressLevel pseudo-encoding. TigerVNC's default too: the
  // tile coder already removes most redundancy, so higher levels cost CPU for a few per cent.
  static constexpr int kDefaultCompressLevel = 2;
  // Tile data whose level-1 samples deflate to more than this fraction is sent with Z_RLE.
  static constexpr double kIncompressibleRatio = 0.8;

  ZrleEncoder() : stream_(kDefaultCompressLevel) {}

  int32_t encoding() const override { return rfb::encoding::kZRLE; }
  rfb::EncoderTraits traits() const override {
    rfb::EncoderTraits t;
    t.max_lanes = 1;  // One zlib stream; encode() spreads a rectangle over ctx.runner itself.
    return t;
  }
  // U32 length, then the tile data deflated up to a Z_SYNC_FLUSH so the client can decode this
  // rectangle now while the dictionary carries on into the next one.
  void encode(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
              rfb::ByteBuffer& out) override;

 private:
  ZlibStream stream_;
  // Uncompressed tile data of the current rectangle; kept to reuse its storage, so it holds as
  // much memory as the largest rectangle's tile data (at most about its raw size).
  rfb::ByteBuffer tiles_;
  std::vector<rfb::ByteBuffer> bands_;  // Tile data of each lane's band of tile rows.
};

}  // namespace vncd::enc
