#include "support/reference_decoder.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "support/reference_decoders.h"

namespace vncd::test {
namespace {

constexpr int32_t kRaw = 0, kCopyRect = 1, kLastRect = -224, kDesktopSize = -223;

class RawDecoder : public ReferenceDecoder {
 public:
  Status decode(rfb::Reader& in, const rfb::Rect& r, ClientFramebuffer& fb) override {
    const size_t row = static_cast<size_t>(r.w) * static_cast<size_t>(fb.format.bytes_per_pixel());
    if (!in.has(row * static_cast<size_t>(r.h))) return Error("Raw: short rectangle data");
    for (int y = 0; y < r.h; ++y) {
      auto b = in.bytes(row);
      std::memcpy(fb.at(r.x, r.y + y), b.data(), row);
    }
    return {};
  }
};

}  // namespace

std::unique_ptr<ReferenceDecoder> make_reference_decoder(int32_t encoding) {
  if (encoding == kRaw) return std::make_unique<RawDecoder>();
  for (const ReferenceDecoderEntry& e : reference_decoder_table())
    if (e.encoding == encoding) return e.make();
  return nullptr;
}

Status ReferenceClient::decode_update(rfb::Reader& in) {
  if (!in.has(4)) return Error("short FramebufferUpdate header");
  if (in.u8() != 0) return Error("not a FramebufferUpdate");
  in.skip(1);
  const uint16_t n = in.u16();
  for (uint32_t i = 0; i < n; ++i) {
    if (!in.has(12)) return Error("short rectangle header");
    rfb::Rect r;
    r.x = in.u16();
    r.y = in.u16();
    r.w = in.u16();
    r.h = in.u16();
    const int32_t enc = in.s32();
    if (enc == kLastRect) break;
    if (enc == kDesktopSize) {
      fb = ClientFramebuffer(r.w, r.h, fb.format);
      continue;
    }
    if (r.right() > fb.width || r.bottom() > fb.height)
      return Error("rectangle " + r.str() + " outside the framebuffer");
    if (enc == kCopyRect) {
      if (!in.has(4)) return Error("short CopyRect");
      const int sx = in.u16(), sy = in.u16();
      if (sx + r.w > fb.width || sy + r.h > fb.height) return Error("CopyRect source outside");
      const size_t row =
          static_cast<size_t>(r.w) * static_cast<size_t>(fb.format.bytes_per_pixel());
      std::vector<uint8_t> tmp(row * static_cast<size_t>(r.h));
      for (int y = 0; y < r.h; ++y)
        std::memcpy(tmp.data() + row * static_cast<size_t>(y), fb.at(sx, sy + y), row);
      for (int y = 0; y < r.h; ++y)
        std::memcpy(fb.at(r.x, r.y + y), tmp.data() + row * static_cast<size_t>(y), row);
      continue;
    }
    auto it = std::find_if(decoders_.begin(), decoders_.end(),
                           [&](const Slot& s) { return s.encoding == enc; });
    if (it == decoders_.end()) {
      auto d = make_reference_decoder(enc);
      if (!d) return Error("no reference decoder for encoding " + std::to_string(enc));
      decoders_.push_back(Slot{enc, std::move(d)});
      it = decoders_.end() - 1;
    }
    if (Status s = it->decoder->decode(in, r, fb); !s) return s;
  }
  return {};
}

}  // namespace vncd::test
