#include "support/reference_decoder.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "rfb/messages.h"
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
      // "DesktopSize Pseudo-encoding": the rectangle's size is the new framebuffer's. Bounded
      // before allocating, so a bad server cannot make the test allocate gigabytes.
      if (r.w > kMaxDesktopSide || r.h > kMaxDesktopSide)
        return Error("DesktopSize " + std::to_string(r.w) + "x" + std::to_string(r.h) +
                     " exceeds the reference client's limit of " + std::to_string(kMaxDesktopSide) +
                     " per side");
      fb = ClientFramebuffer(r.w, r.h, fb.format);
      continue;
    }
    if (r.right() > fb.width || r.bottom() > fb.height)
      return Error("rectangle " + r.str() + " outside the framebuffer");
    if (enc == kCopyRect) {
      ++copy_rects;
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
  ++updates;
  return {};
}

Status ReferenceClient::decode_message(rfb::Reader& in) {
  if (!in.has(1)) return Error("no server message");
  rfb::Reader peek = in;
  const uint8_t type = peek.u8();
  switch (type) {
    case rfb::server_msg::kFramebufferUpdate:
      return decode_update(in);
    case rfb::server_msg::kSetColourMapEntries: {
      // "SetColourMapEntries": U8 type, padding, U16 first-colour, U16 count, count x 3 U16.
      if (!in.has(6)) return Error("short SetColourMapEntries header");
      in.skip(2);
      const size_t first = in.u16();
      const size_t count = in.u16();
      if (!in.has(count * 6)) return Error("short SetColourMapEntries colours");
      if (colour_map.size() < first + count) colour_map.resize(first + count);
      for (size_t i = 0; i < count; ++i) {
        rfb::Colour16& c = colour_map[first + i];
        c.r = in.u16();
        c.g = in.u16();
        c.b = in.u16();
      }
      return {};
    }
    case rfb::server_msg::kBell:
      // "Bell": the type alone.
      in.skip(1);
      ++bells;
      return {};
    case rfb::server_msg::kServerCutText: {
      // "ServerCutText": U8 type, 3 padding, U32 length, text. Only bytes present are read, so
      // the length cannot make this allocate more than the input holds.
      if (!in.has(8)) return Error("short ServerCutText header");
      in.skip(4);
      const uint32_t len = in.u32();
      if (!in.has(len)) return Error("short ServerCutText text");
      auto text = in.bytes(len);
      cut_texts.emplace_back(text.begin(), text.end());
      return {};
    }
    case rfb::server_msg::kEndOfContinuousUpdates:
      // "EndOfContinuousUpdates": the type alone.
      in.skip(1);
      ++end_of_continuous_updates;
      return {};
    case rfb::server_msg::kFence: {
      // "ServerFence": U8 type, 3 padding, U32 flags, U8 length, payload of at most 64 bytes.
      if (!in.has(9)) return Error("short ServerFence header");
      in.skip(4);
      ReceivedFence f;
      f.flags = in.u32();
      const uint8_t len = in.u8();
      if (len > rfb::fence::kMaxPayload)
        return Error("ServerFence payload of " + std::to_string(len) + " bytes (limit 64)");
      if (!in.has(len)) return Error("short ServerFence payload");
      auto payload = in.bytes(len);
      f.payload.assign(payload.begin(), payload.end());
      fences.push_back(std::move(f));
      return {};
    }
    default:
      return Error("unknown server message type " + std::to_string(type));
  }
}

Status ReferenceClient::decode_messages(rfb::Reader& in) {
  while (in.remaining() > 0)
    if (Status s = decode_message(in); !s) return s;
  return {};
}

}  // namespace vncd::test
