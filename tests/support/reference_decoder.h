// Reference decoders: test-only RFB rectangle decoders written from rfbproto.rst, independent of
// vncd's encoders, used to prove every encoding round-trips. One object per simulated client.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
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

// A ServerFence as the client saw it (rfbproto.rst "ServerFence").
struct ReceivedFence {
  uint32_t flags = 0;
  std::vector<uint8_t> payload;
  bool operator==(const ReceivedFence&) const = default;
};

// A client's view of the server's messages: decodes FramebufferUpdates into `fb` (with
// per-encoding decoders kept across calls; handles CopyRect, LastRect and DesktopSize) and records
// the other server messages in order, so tests can assert on what the server said.
class ReferenceClient {
 public:
  // DesktopSize beyond this (per side) is refused rather than allocated; the same bound as the
  // server's largest virtual desktop (server::kMaxVirtualSide).
  static constexpr int kMaxDesktopSide = 16384;

  ReferenceClient(int w, int h, const rfb::PixelFormat& pf) : fb(w, h, pf) {}
  // Decodes one whole FramebufferUpdate message (header included).
  Status decode_update(rfb::Reader& in);
  // Decodes one whole server message of any type this client knows (rfbproto.rst "Server to
  // Client Messages"); a message cut short or of an unknown type is an error.
  Status decode_message(rfb::Reader& in);
  // Decodes messages until `in` is empty.
  Status decode_messages(rfb::Reader& in);

  ClientFramebuffer fb;
  int updates = 0;                        // FramebufferUpdates decoded.
  int copy_rects = 0;                     // CopyRect rectangles among them.
  int bells = 0;                          // "Bell".
  std::vector<std::string> cut_texts;     // "ServerCutText", Latin-1, in order.
  std::vector<rfb::Colour16> colour_map;  // "SetColourMapEntries", grown as entries arrive.
  std::vector<ReceivedFence> fences;      // "ServerFence", in order.
  int end_of_continuous_updates = 0;      // "EndOfContinuousUpdates".

 private:
  struct Slot {
    int32_t encoding;
    std::unique_ptr<ReferenceDecoder> decoder;
  };
  std::vector<Slot> decoders_;
};

}  // namespace vncd::test
