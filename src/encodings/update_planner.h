// UpdatePlanner: decides what one client's FramebufferUpdate contains (which rectangles, which
// encoding for each, pseudo-rectangles) and writes it. One per connection, used by one thread.
#pragma once

#include <cstdint>
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

struct UpdateContent {
  rfb::Region changed;              // Areas of `frame` to send (inside the frame).
  std::optional<rfb::Size> resize;  // Send a DesktopSize pseudo-rectangle first.
};

class UpdatePlanner {
 public:
  explicit UpdatePlanner(const EncoderRegistry& registry);
  ~UpdatePlanner();

  // The client's SetEncodings list, in its order of preference. Unknown numbers are ignored.
  void set_encodings(std::span<const int32_t> encodings);
  // The capture format and the client's format (both valid).
  void set_formats(const rfb::PixelFormat& native, const rfb::PixelFormat& client);

  // Whether the client announced a pseudo-encoding (DesktopSize, LastRect, ...).
  bool client_supports(int32_t encoding) const;
  // The encoding used for ordinary rectangles (the client's first supported choice, else Raw).
  int32_t preferred_encoding() const { return preferred_; }

  // Appends one complete FramebufferUpdate message for `content` of `frame` to `out`. The frame's
  // format must be the native format given to set_formats(). Returns the number of rectangles.
  size_t write_update(const rfb::Frame& frame, const UpdateContent& content, rfb::ByteBuffer& out);

 private:
  const EncoderRegistry& registry_;
  std::vector<int32_t> client_encodings_;
  int32_t preferred_ = rfb::encoding::kRaw;
  rfb::EncodeSettings settings_;
  rfb::PixelFormat native_;
  rfb::PixelFormat client_;
  std::unique_ptr<rfb::PixelConverter> converter_;
  std::unique_ptr<rfb::Encoder> encoder_;  // For preferred_.
  std::vector<uint8_t> scratch_;           // Converted pixels for client-format encoders.
};

}  // namespace vncd::enc
