// Reference decoders for RRE and CoRRE, written from rfbproto.rst ("RRE Encoding", "CoRRE
// Encoding"): a U32 subrectangle count, a background pixel, then <pixel, x, y, w, h> tuples whose
// coordinates are U16 (RRE) or U8 (CoRRE). Stateless between rectangles.
#include <cstring>
#include <span>
#include <string>

#include "support/reference_decoders.h"

namespace vncd::test {
namespace {

void fill_rect(ClientFramebuffer& fb, int x, int y, int w, int h, std::span<const uint8_t> pixel) {
  for (int j = 0; j < h; ++j)
    for (int i = 0; i < w; ++i) std::memcpy(fb.at(x + i, y + j), pixel.data(), pixel.size());
}

class RreFamilyDecoder final : public ReferenceDecoder {
 public:
  RreFamilyDecoder(size_t coord_bytes, std::string name)
      : coord_bytes_(coord_bytes), name_(std::move(name)) {}

  Status decode(rfb::Reader& in, const rfb::Rect& r, ClientFramebuffer& fb) override {
    if (r.x < 0 || r.y < 0 || r.w < 0 || r.h < 0 || r.right() > fb.width || r.bottom() > fb.height)
      return Error(name_ + ": rectangle " + r.str() + " outside the framebuffer");
    const size_t bpp = static_cast<size_t>(fb.format.bytes_per_pixel());
    if (!in.has(4 + bpp)) return Error(name_ + ": short header");
    const uint32_t count = in.u32();
    const std::span<const uint8_t> background = in.bytes(bpp);
    // Bound the count by the bytes actually present before looping over it.
    const size_t per_subrect = bpp + 4 * coord_bytes_;
    if (!in.has(size_t{count} * per_subrect))
      return Error(name_ + ": " + std::to_string(count) + " subrectangles but only " +
                   std::to_string(in.remaining()) + " bytes");
    fill_rect(fb, r.x, r.y, r.w, r.h, background);
    for (uint32_t i = 0; i < count; ++i) {
      const std::span<const uint8_t> pixel = in.bytes(bpp);
      const int x = coord(in), y = coord(in), w = coord(in), h = coord(in);
      if (x + w > r.w || y + h > r.h)
        return Error(name_ + ": subrectangle " + rfb::Rect{x, y, w, h}.str() +
                     " outside the rectangle " + r.str());
      fill_rect(fb, r.x + x, r.y + y, w, h, pixel);
    }
    return {};
  }

 private:
  int coord(rfb::Reader& in) const { return coord_bytes_ == 1 ? in.u8() : in.u16(); }

  size_t coord_bytes_;
  std::string name_;
};

}  // namespace

std::unique_ptr<ReferenceDecoder> make_rre_decoder() {
  return std::make_unique<RreFamilyDecoder>(2, "RRE");
}

std::unique_ptr<ReferenceDecoder> make_corre_decoder() {
  return std::make_unique<RreFamilyDecoder>(1, "CoRRE");
}

}  // namespace vncd::test
