// HextileEncoder: the Hextile encoding (rfbproto.rst, "Hextile Encoding"): 16x16 tiles, each raw
// or a background plus subrectangles. State lives only within one rectangle; one thread at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "encodings/palette.h"
#include "encodings/rre_encoder.h"
#include "rfb/encoder.h"

namespace vncd::enc {

// Subencoding mask bits ("Hextile Encoding").
namespace hextile {
inline constexpr uint8_t kRaw = 1;
inline constexpr uint8_t kBackgroundSpecified = 2;
inline constexpr uint8_t kForegroundSpecified = 4;
inline constexpr uint8_t kAnySubrects = 8;
inline constexpr uint8_t kSubrectsColoured = 16;
inline constexpr int kTileSize = 16;
}  // namespace hextile

// find_subrects() (rre_encoder.h) for a tile of at most 16 x 16 pixels in two colours, on one
// bit mask per row: the same subrectangles in the same order, at a fraction of the cost. Pixels
// equal to `foreground` are covered; every other pixel counts as background.
bool find_two_colour_subrects(const rfb::PixelView& tile, uint32_t foreground, size_t max_count,
                              std::vector<Subrect>& out);

// Colours a Hextile decoder remembers from the previous tile of the same rectangle. A Raw tile
// leaves both undefined; a SubrectsColoured tile leaves the foreground undefined; a tile without
// subrectangles keeps whatever foreground was defined before it.
struct HextileTileState {
  bool background_valid = false;
  uint32_t background = 0;
  bool foreground_valid = false;
  uint32_t foreground = 0;
};

// Per tile: solid -> background only (mask 0 when it is unchanged); two colours -> the more
// frequent as background, the other as foreground, plain subrectangles; more colours ->
// SubrectsColoured; Raw when it is strictly smaller (a Raw tile makes the next one resend
// its background), and for busy tiles of more than two colours (a new run at more than
// kBusyRunsPercent of the pixels), whose subrectangles would rarely be smaller and cost a
// palette and a search. Lossless, client format in.
class HextileEncoder final : public rfb::Encoder {
 public:
  static constexpr int kBusyRunsPercent = 75;

  int32_t encoding() const override { return rfb::encoding::kHextile; }
  rfb::EncoderTraits traits() const override { return {}; }
  void encode(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
              rfb::ByteBuffer& out) override;

  // Appends one tile (1..16 x 1..16 pixels) given what the decoder remembers from the previous
  // tile of the rectangle, and updates `state` to what it remembers after this one. encode() is
  // this over the tiles left to right, top to bottom, starting from a default state.
  void encode_tile(const rfb::PixelView& tile, HextileTileState& state, rfb::ByteBuffer& out);

 private:
  // Scratch reused across tiles.
  Palette palette_;
  std::vector<Subrect> subrects_;
  std::vector<uint8_t> covered_;
};

}  // namespace vncd::enc
