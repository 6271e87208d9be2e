// Fuzz target: arbitrary bytes into each reference decoder (they are test oracles and the encoder
// fuzzer's judges, so malformed input must give an Error, never a crash, a hang or a huge
// allocation). Several rectangles per input share one decoder, as its zlib streams persist.
//
// Input: encoding, six pixel-format bytes (fuzz_pixel_format.h), framebuffer width and height;
// then per rectangle x, y, w, h bytes (clipped into the framebuffer) and its payload, which is
// whatever follows: the next rectangle starts where the decoder stopped reading.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "fuzz_pixel_format.h"
#include "rfb/encoder.h"
#include "rfb/geometry.h"
#include "rfb/wire.h"
#include "support/reference_decoder.h"

namespace {

constexpr int32_t kEncodings[] = {
    vncd::rfb::encoding::kRaw,     vncd::rfb::encoding::kRRE,  vncd::rfb::encoding::kCoRRE,
    vncd::rfb::encoding::kHextile, vncd::rfb::encoding::kZlib, vncd::rfb::encoding::kTight,
    vncd::rfb::encoding::kTRLE,    vncd::rfb::encoding::kZRLE,
};
constexpr size_t kHeader = 9;
constexpr int kMaxSide = 200;  // Framebuffer side: several 64x64 ZRLE tiles.
constexpr int kMaxRects = 8;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader) return 0;
  vncd::rfb::PixelFormat pf;
  if (!vncd::fuzz::make_format(std::span<const uint8_t, 6>(data + 1, 6), pf)) return 0;
  const int32_t encoding = kEncodings[data[0] % std::size(kEncodings)];
  const int fb_w = 1 + data[7] % kMaxSide;
  const int fb_h = 1 + data[8] % kMaxSide;
  std::unique_ptr<vncd::test::ReferenceDecoder> decoder =
      vncd::test::make_reference_decoder(encoding);
  if (!decoder) __builtin_trap();  // Every encoding vncd offers has a reference decoder.
  vncd::test::ClientFramebuffer fb(fb_w, fb_h, pf);

  vncd::rfb::Reader in(std::span<const uint8_t>(data + kHeader, size - kHeader));
  for (int i = 0; i < kMaxRects && in.has(4); ++i) {
    // A rectangle inside the framebuffer (the client checks that before choosing a decoder).
    vncd::rfb::Rect r;
    r.x = in.u8() % fb_w;
    r.y = in.u8() % fb_h;
    r.w = 1 + in.u8() % (fb_w - r.x);
    r.h = 1 + in.u8() % (fb_h - r.y);
    const size_t before = in.remaining();
    const vncd::Status s = decoder->decode(in, r, fb);
    if (in.remaining() > before) __builtin_trap();
    if (!s) break;  // Malformed: reported, as it must be. The stream state is now undefined.
  }
  return 0;
}
