// Reference decoders: test-only RFB rectangle decoders written from rfbproto.rst, independent of
// vncd's encoders, used to prove every encoding round-trips. One object per simulated client.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rfb/geometry.h"
#include "rfb/pixel_format.h"
#include "rfb/result.h"
#include "rfb/wire.h"

namespace vncd::test {

// A client-side framebuffer in the client's pixel format (tightly packed rows).
struct ClientFramebuffer {
  ClientFramebuffer(int w, int h, const rfb::PixelFormat& pf)
      : width(w),
        height(h),
        format(pf),
        stride(static_cast<size_t>(w) * static_cast<size_t>(pf.bytes_per_pixel())),
        pixels(stride * static_cast<size_t>(h)) {}
  int width;
  int height;
  rfb::PixelFormat format;
  size_t stride;
  std::vector<uint8_t> pixels;

  uint8_t* at(int x, int y) {
    return pixels.data() + static_cast<size_t>(y) * stride +
           static_cast<size_t>(x) * static_cast<size_t>(format.bytes_per_pixel());
  }
};

// Decodes the payload of one rectangle of a single encoding. Keeps whatever state the encoding
// carries between rectangles (zlib streams, Hextile's colours are per rectangle only).
class ReferenceDecoder {
 public:
  virtual ~ReferenceDecoder() = default;
  // Reads exactly the rectangle's payload from `in` and draws it into `fb`. Errors name what was
  // malformed (short data, bad subencoding, rectangle outside the framebuffer...).
  virtual Status decode(rfb::Reader& in, const rfb::Rect& r, ClientFramebuffer& fb) = 0;
};

// A decoder for `encoding`, or nullptr when none is written for it.
std::unique_ptr<ReferenceDecoder> make_reference_decoder(int32_t encoding);

// Decodes one whole FramebufferUpdate message (header included) with per-encoding decoders kept
// in `decoders` across calls (index by encoding). Handles CopyRect, LastRect and DesktopSize.
class ReferenceClient {
 public:
  ReferenceClient(int w, int h, const rfb::PixelFormat& pf) : fb(w, h, pf) {}
  Status decode_update(rfb::Reader& in);
  ClientFramebuffer fb;

 private:
  struct Slot {
    int32_t encoding;
    std::unique_ptr<ReferenceDecoder> decoder;
  };
  std::vector<Slot> decoders_;
};

}  // namespace vncd::test
