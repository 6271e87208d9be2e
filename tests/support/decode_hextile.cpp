// Reference decoder for Hextile, written from rfbproto.rst ("Hextile Encoding"): 16x16 tiles in
// row order, each a subencoding mask then Raw pixels or background / foreground / subrectangles.
// Background and foreground carry over between the tiles of one rectangle only, under the spec's
// rules; using a colour the spec leaves undefined is an error here.
#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "support/reference_decoders.h"

namespace vncd::test {
namespace {

constexpr uint8_t kRaw = 1, kBackgroundSpecified = 2, kForegroundSpecified = 4, kAnySubrects = 8,
                  kSubrectsColoured = 16;

void fill_rect(ClientFramebuffer& fb, int x, int y, int w, int h, const uint8_t* pixel,
               size_t bpp) {
  for (int j = 0; j < h; ++j)
    for (int i = 0; i < w; ++i) std::memcpy(fb.at(x + i, y + j), pixel, bpp);
}

class HextileDecoder final : public ReferenceDecoder {
 public:
  Status decode(rfb::Reader& in, const rfb::Rect& r, ClientFramebuffer& fb) override {
    if (r.x < 0 || r.y < 0 || r.w < 0 || r.h < 0 || r.right() > fb.width || r.bottom() > fb.height)
      return Error("Hextile: rectangle " + r.str() + " outside the framebuffer");
    const size_t bpp = static_cast<size_t>(fb.format.bytes_per_pixel());
    std::vector<uint8_t> background(bpp), foreground(bpp);
    bool have_background = false, have_foreground = false;  // Fresh for every rectangle.

    for (int ty = r.y; ty < r.bottom(); ty += 16) {
      const int th = std::min(16, r.bottom() - ty);
      for (int tx = r.x; tx < r.right(); tx += 16) {
        const int tw = std::min(16, r.right() - tx);
        const std::string where =
            "Hextile: tile at " + std::to_string(tx - r.x) + "," + std::to_string(ty - r.y) + ": ";
        if (!in.has(1)) return Error(where + "missing subencoding");
        const uint8_t mask = in.u8();
        if (mask & 0xe0) return Error(where + "unknown subencoding bits " + std::to_string(mask));

        if (mask & kRaw) {
          const size_t row = static_cast<size_t>(tw) * bpp;
          if (!in.has(row * static_cast<size_t>(th))) return Error(where + "short raw tile");
          for (int j = 0; j < th; ++j) std::memcpy(fb.at(tx, ty + j), in.bytes(row).data(), row);
          // Neither colour may be carried over from a raw tile.
          have_background = have_foreground = false;
          continue;
        }
        if ((mask & kForegroundSpecified) && (mask & kSubrectsColoured))
          return Error(where + "ForegroundSpecified with SubrectsColoured");
        if (mask & kBackgroundSpecified) {
          if (!in.has(bpp)) return Error(where + "short background");
          std::memcpy(background.data(), in.bytes(bpp).data(), bpp);
          have_background = true;
        } else if (!have_background) {
          return Error(where + "background not specified and not carried over");
        }
        if (mask & kForegroundSpecified) {
          if (!in.has(bpp)) return Error(where + "short foreground");
          std::memcpy(foreground.data(), in.bytes(bpp).data(), bpp);
          have_foreground = true;
        }
        fill_rect(fb, tx, ty, tw, th, background.data(), bpp);

        if (mask & kAnySubrects) {
          if (!in.has(1)) return Error(where + "missing subrectangle count");
          const int count = in.u8();
          const bool coloured = (mask & kSubrectsColoured) != 0;
          if (!coloured && !have_foreground)
            return Error(where + "foreground not specified and not carried over");
          const size_t per = (coloured ? bpp : 0) + 2;
          if (!in.has(static_cast<size_t>(count) * per))
            return Error(where + "short subrectangles");
          for (int i = 0; i < count; ++i) {
            const uint8_t* colour = coloured ? in.bytes(bpp).data() : foreground.data();
            const uint8_t xy = in.u8(), wh = in.u8();
            const int sx = xy >> 4, sy = xy & 15, sw = (wh >> 4) + 1, sh = (wh & 15) + 1;
            if (sx + sw > tw || sy + sh > th)
              return Error(where + "subrectangle " + rfb::Rect{sx, sy, sw, sh}.str() +
                           " outside the " + std::to_string(tw) + "x" + std::to_string(th) +
                           " tile");
            fill_rect(fb, tx + sx, ty + sy, sw, sh, colour, bpp);
          }
        }
        // The foreground may not be carried over a tile with SubrectsColoured set.
        if (mask & kSubrectsColoured) have_foreground = false;
      }
    }
    return {};
  }
};

}  // namespace

std::unique_ptr<ReferenceDecoder> make_hextile_decoder() {
  return std::make_unique<HextileDecoder>();
}

}  // namespace vncd::test
