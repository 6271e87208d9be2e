// Reference decoder for rfbproto.rst "ZRLE Encoding": U32 length, zlibData inflated through ONE
// stream kept across rectangles (like a real client), then 64x64 tiles.
#include <string>
#include <vector>

#include "support/decode_trle.h"
#include "support/decode_zlib.h"
#include "support/reference_decoders.h"

namespace vncd::test {
namespace {

class ZrleDecoder : public ReferenceDecoder {
 public:
  Status decode(rfb::Reader& in, const rfb::Rect& r, ClientFramebuffer& fb) override {
    if (r.x < 0 || r.y < 0 || r.w < 0 || r.h < 0 || r.right() > fb.width || r.bottom() > fb.height)
      return Error("ZRLE: rectangle outside the framebuffer");
    if (!in.has(4)) return Error("ZRLE: short length");
    const uint32_t length = in.u32();
    if (!in.has(length)) return Error("ZRLE: short zlibData");
    // The most tile data a rectangle can need: per tile a subencoding byte and a 127-colour
    // palette, per pixel a CPIXEL and a one-byte run length (plain RLE of single pixels).
    const size_t cp = static_cast<size_t>(cpixel_bytes(fb.format));
    const size_t tiles =
        static_cast<size_t>((r.w + 63) / 64) * static_cast<size_t>((r.h + 63) / 64);
    const size_t max =
        tiles * (1 + 127 * cp) + static_cast<size_t>(r.w) * static_cast<size_t>(r.h) * (cp + 1);
    if (Status s = stream_.inflate_all(in.bytes(length), max, data_); !s)
      return Error("ZRLE: " + s.error().message());
    rfb::Reader tiles_in(data_);
    if (Status s = decode_rle_tiles(tiles_in, r, fb, RleVariant::kZrle); !s) return s;
    if (tiles_in.remaining() != 0)
      return Error("ZRLE: " + std::to_string(tiles_in.remaining()) +
                   " bytes of zlibData after the last tile");
    return {};
  }

 private:
  InflateStream stream_;
  std::vector<uint8_t> data_;
};

}  // namespace

std::unique_ptr<ReferenceDecoder> make_zrle_decoder() {
  return std::make_unique<ZrleDecoder>();
}

}  // namespace vncd::test
