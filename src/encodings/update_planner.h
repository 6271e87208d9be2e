// UpdatePlanner: decides what one client's FramebufferUpdate contains (CopyRect moves, solid
// areas, the remaining rectangles and the encoding of each) and writes it. This is the one place
// that chooses; encoders only encode. One per connection, used by one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "encodings/registry.h"
#include "rfb/encoder.h"
#include "rfb/frame.h"
#include "rfb/geometry.h"
#include "rfb/pixel_converter.h"
#include "rfb/wire.h"

namespace vncd::enc {

// Content already on the client that moved: dst's pixels are those at (src_x, src_y) before
// the update (a scroll or a window move).
struct CopyOp {
  rfb::Rect dst;
  int src_x = 0;
  int src_y = 0;
  bool operator==(const CopyOp&) const = default;
};

struct UpdateContent {
  rfb::Region changed;              // Areas of `frame` to send (inside the frame).
  std::vector<CopyOp> copies;       // Applied first, in order. Sources must not overlap an
                                    // earlier op's destination.
  std::optional<rfb::Size> resize;  // Send a DesktopSize pseudo-rectangle first.
};

// The client's pseudo-encodings that tune encoders (Compression Level, JPEG Quality Level,
// TurboVNC fine quality and subsampling); the last of each kind wins.
rfb::EncodeSettings settings_from_encodings(std::span<const int32_t> encodings);

class UpdatePlanner {
 public:
  // Solid areas smaller than this are left to the encoder: splitting them off costs headers.
  static constexpr int kMinSolidArea = 2048;
  static constexpr int kSolidBlock = 16;

  explicit UpdatePlanner(const EncoderRegistry& registry);
  ~UpdatePlanner();

  // The client's SetEncodings list, in its order of preference. Unknown numbers are ignored.
  void set_encodings(std::span<const int32_t> encodings);
  // The capture format and the client's format (both valid).
  void set_formats(const rfb::PixelFormat& native, const rfb::PixelFormat& client);

  // Whether the client announced an encoding or pseudo-encoding (DesktopSize, CopyRect, ...).
  bool client_supports(int32_t encoding) const;
  // The encoding used for ordinary rectangles (the client's first supported choice, else Raw).
  int32_t preferred_encoding() const { return preferred_; }
  const rfb::EncodeSettings& settings() const { return settings_; }

  // Appends one complete FramebufferUpdate message for `content` of `frame` to `out`. The frame's
  // format must be the native format given to set_formats(). Returns the number of rectangles.
  // Copies are sent as CopyRect when the client supports it, else as pixels.
  size_t write_update(const rfb::Frame& frame, const UpdateContent& content, rfb::ByteBuffer& out);

 private:
  struct Piece {
    rfb::Rect rect;
    int32_t encoding;
  };
  rfb::Encoder& encoder(int32_t encoding);
  void extract_solids(const rfb::Frame& frame, rfb::Region& region, std::vector<Piece>& out) const;
  int32_t encoding_for(const rfb::PixelView& native) const;
  void split(const rfb::Rect& r, int32_t encoding, std::vector<Piece>& out);
  void encode_piece(const rfb::Frame& frame, const Piece& p, rfb::ByteBuffer& out);

  const EncoderRegistry& registry_;
  std::vector<int32_t> client_encodings_;
  int32_t preferred_ = rfb::encoding::kRaw;
  int32_t solid_encoding_ = rfb::encoding::kRaw;  // For extracted solid areas.
  int32_t fallback_ = rfb::encoding::kRaw;        // When content exceeds preferred's palette.
  rfb::EncodeSettings settings_;
  rfb::PixelFormat native_;
  rfb::PixelFormat client_;
  std::unique_ptr<rfb::PixelConverter> converter_;
  std::map<int32_t, std::unique_ptr<rfb::Encoder>> encoders_;  // Made on first use; they keep
                                                               // their state (zlib streams).
  std::vector<uint8_t> scratch_;  // Converted pixels for client-format encoders.
};

}  // namespace vncd::enc
