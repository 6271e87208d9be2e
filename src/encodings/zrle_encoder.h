// ZrleEncoder: the ZRLE encoding (rfbproto.rst "ZRLE Encoding"): 64x64 tiles through the shared
// tile coder (trle.h), the whole rectangle compressed through the connection's one zlib stream.
// Made per connection (the stream lives across updates); one thread at a time. Works band by band
// (tile, deflate), so the rectangle's tile data never exists whole: memory stays at a few bands
// whatever the rectangle's size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "encodings/trle.h"
#include "encodings/zlib_stream.h"
#include "rfb/encoder.h"

namespace vncd::enc {

class ZrleEncoder final : public rfb::Encoder {
 public:
  // Used when the client sends no CompressLevel pseudo-encoding. TigerVNC's default too: the
  // tile coder already removes most redundancy, so higher levels cost CPU for a few per cent.
  static constexpr int kDefaultCompressLevel = 2;
  // Tile data whose level-1 samples deflate to more than this fraction is sent Huffman-only.
  static constexpr double kIncompressibleRatio = 0.8;
  // Other tile data goes through ZlibStream::kGreedyMatches at compression levels 1..this when
  // the round's largest band holds at least kGreedyMinBytes; otherwise through zlib.
  static constexpr int kGreedyMaxLevel = 2;
  static constexpr size_t kGreedyMinBytes = 64 * 1024;
  // A band is whole 64-row tile rows holding at least this many bytes of client pixels: big
  // enough to keep deflate's chunks efficient, small enough that a few of them are cheap.
  static constexpr size_t kBandBytes = 256 * 1024;
  // Band buffers above this (very wide rectangles) are given back after each rectangle.
  static constexpr size_t kKeptCapacity = 1 << 20;

  ZrleEncoder() : stream_(kDefaultCompressLevel) {}

  int32_t encoding() const override { return rfb::encoding::kZRLE; }
  rfb::EncoderTraits traits() const override {
    rfb::EncoderTraits t;
    t.max_lanes = 1;  // One zlib stream; encode() spreads a rectangle over ctx.runner itself.
    // Rectangles of at most four tile rows: the planner converts each to the client's format
    // on its own, so a full-screen update needs a 2 MB buffer at 1080p instead of a whole
    // converted frame (8 MB), for 12 bytes of header per extra rectangle.
    t.max_height = 4 * trle::kZrleTileSize;
    return t;
  }
  // U32 length, then the tile data deflated up to a Z_SYNC_FLUSH so the client can decode this
  // rectangle now while the dictionary carries on into the next one.
  void encode(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
              rfb::ByteBuffer& out) override;

 private:
  // One thread's band: its tile data before compression.
  struct Band {
    rfb::ByteBuffer tiles;
  };
  ZlibStream stream_;
  std::vector<Band> bands_;  // One per thread of the runner; kept to reuse their storage.
};

}  // namespace vncd::enc
