// RRE and CoRRE encoders (rfbproto.rst, "RRE Encoding", "CoRRE Encoding"): a background colour plus
// solid subrectangles, and the subrectangle extraction Hextile shares. Per connection, one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "rfb/encoder.h"

namespace vncd::enc {

// One solid-coloured rectangle, relative to the top-left corner of the pixels it was found in.
// `colour` is the opaque pixel value as load_pixel<T> reads it, widened to uint32_t.
struct Subrect {
  uint32_t colour;
  int x, y, w, h;
};

// The background RRE uses: the most frequent pixel value of `pixels` (non-empty),
// exact up to 256 colours; beyond that, the most frequent in whole rows spread evenly over the
// rectangle, at most kBackgroundSample pixels (exact counting of millions of colours costs
// seconds and buys nothing on such content). Deterministic; which one among equals unspecified.
inline constexpr int64_t kBackgroundSample = 65536;
uint32_t most_frequent_colour(const rfb::PixelView& pixels);

// Greedy cover of every pixel of `pixels` that differs from `background` by non-overlapping solid
// subrectangles, appended to `out` in scan order: at each uncovered pixel take the larger of
// (horizontal run, then grown down) and (vertical run, then grown right). Not minimal, but near it
// for UI content, and linear in the area. Gives up and returns false as soon as more than
// `max_count` subrectangles would be needed (what it appended to `out` is then incomplete), so
// callers comparing against another encoding's size stop early. `covered` is scratch, reused
// across calls.
bool find_subrects(const rfb::PixelView& pixels, uint32_t background, size_t max_count,
                   std::vector<Subrect>& out, std::vector<uint8_t>& covered);

// Bytes of an RRE (coord_bytes 2) or CoRRE (coord_bytes 1) payload with `subrects` subrectangles.
inline size_t rre_payload_size(size_t subrects, int bytes_per_pixel, int coord_bytes) {
  const size_t bpp = static_cast<size_t>(bytes_per_pixel);
  return 4 + bpp + subrects * (bpp + 4 * static_cast<size_t>(coord_bytes));
}

// RRE with coordinates of type Coord: uint16_t for RRE (encoding 2), uint8_t for CoRRE (encoding
// 4, rectangles at most 255x255, which the planner guarantees through traits()). Stateless apart
// from scratch buffers kept to avoid reallocating on every rectangle.
//
// RRE can be far larger than Raw on busy content (12 bytes per subrectangle at 32 bpp against 4
// per pixel). encode() always produces a correct payload whatever its size; a planner that wants
// to prefer Raw or another encoding asks encoded_size() with a limit first.
template <class Coord>
class RreEncoderT final : public rfb::Encoder {
 public:
  static constexpr int kCoordBytes = static_cast<int>(sizeof(Coord));

  int32_t encoding() const override;
  rfb::EncoderTraits traits() const override;
  void encode(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
              rfb::ByteBuffer& out) override;

  // The exact number of bytes encode() would append for `pixels` (client format), or nullopt as
  // soon as it is known to exceed `limit` (e.g. the Raw size): costs the analysis, not the output.
  std::optional<size_t> encoded_size(const rfb::PixelView& pixels, size_t limit = SIZE_MAX);

 private:
  // Background and subrectangles of `pixels` into subrects_; false when over max_count.
  bool analyse(const rfb::PixelView& pixels, size_t max_count, uint32_t* background);

  std::vector<Subrect> subrects_;
  std::vector<uint8_t> covered_;
};

using RreEncoder = RreEncoderT<uint16_t>;
using CoRreEncoder = RreEncoderT<uint8_t>;

extern template class RreEncoderT<uint16_t>;
extern template class RreEncoderT<uint8_t>;

}  // namespace vncd::enc
