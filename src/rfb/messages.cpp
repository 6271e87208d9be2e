#include "rfb/messages.h"

#include <algorithm>
#include <cassert>

namespace vncd::rfb {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// Clang 14 (used for the fuzzers) lacks C++20 aggregate deduction.
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// The U8 flag and U16 x, y, w, h that FramebufferUpdateRequest and EnableContinuousUpdates share
// (the caller has checked that the 9 bytes are there).
void read_flag_and_area(Reader& r, bool& flag, uint16_t& x, uint16_t& y, uint16_t& w, uint16_t& h) {
  flag = r.u8() != 0;
  x = r.u16();
  y = r.u16();
  w = r.u16();
  h = r.u16();
}

}  // namespace

ParseOutcome parse_client_message(Reader& r, const MessageLimits& limits, ClientMessage& out) {
  if (!r.has(1)) return ParseOutcome::need_more();
  Reader start = r;  // Restore point: on need-more nothing is consumed.
  auto need_more = [&] {
    r = start;
    return ParseOutcome::need_more();
  };
  const uint8_t type = r.u8();
  switch (type) {
    case client_msg::kSetPixelFormat: {
      // rfbproto.rst "SetPixelFormat": U8 type, 3 padding, PIXEL_FORMAT.
      if (!r.has(3 + PixelFormat::kWireSize)) return need_more();
      r.skip(3);
      SetPixelFormat m{PixelFormat::parse(r)};
      if (Status s = m.format.validate(); !s) return ParseOutcome::fail(s.error().message());
      out = m;
      return ParseOutcome::ok();
    }
    case client_msg::kSetEncodings: {
      // "SetEncodings": U8 type, padding, U16 count, count x S32.
      if (!r.has(3)) return need_more();
      r.skip(1);
      const uint16_t n = r.u16();
      if (n > limits.max_encodings)
        return ParseOutcome::fail("SetEncodings lists " + std::to_string(n) + " encodings (limit " +
                                  std::to_string(limits.max_encodings) + ")");
      if (!r.has(size_t{n} * 4)) return need_more();
      SetEncodings m;
      m.encodings.reserve(n);
      for (uint16_t i = 0; i < n; ++i) m.encodings.push_back(r.s32());
      out = std::move(m);
      return ParseOutcome::ok();
    }
    case client_msg::kFramebufferUpdateRequest: {
      // "FramebufferUpdateRequest": U8 type, U8 incremental, U16 x, y, w, h.
      if (!r.has(9)) return need_more();
      FramebufferUpdateRequest m;
      read_flag_and_area(r, m.incremental, m.x, m.y, m.w, m.h);
      out = m;
      return ParseOutcome::ok();
    }
    case client_msg::kKeyEvent: {
      // "KeyEvent": U8 type, U8 down-flag, 2 padding, U32 key.
      if (!r.has(7)) return need_more();
      KeyEvent m;
      m.down = r.u8() != 0;
      r.skip(2);
      m.keysym = r.u32();
      out = m;
      return ParseOutcome::ok();
    }
    case client_msg::kPointerEvent: {
      // "PointerEvent": U8 type, U8 button-mask, U16 x, U16 y.
      if (!r.has(5)) return need_more();
      PointerEvent m;
      m.button_mask = r.u8();
      m.x = r.u16();
      m.y = r.u16();
      out = m;
      return ParseOutcome::ok();
    }
    case client_msg::kClientCutText: {
      // "ClientCutText": U8 type, 3 padding, U32 length, length x U8 (Latin-1).
      if (!r.has(7)) return need_more();
      r.skip(3);
      const uint32_t len = r.u32();
      if (len > limits.max_cut_text_wire)
        return ParseOutcome::fail("ClientCutText length " + std::to_string(len) +
                                  " exceeds the protocol limit");
      if (len > limits.max_cut_text) {
        out = ClientCutText{{}, len};
        return ParseOutcome::ok();
      }
      if (!r.has(len)) return need_more();
      auto bytes = r.bytes(len);
      out = ClientCutText{std::string(bytes.begin(), bytes.end()), 0};
      return ParseOutcome::ok();
    }
    case client_msg::kEnableContinuousUpdates: {
      // "EnableContinuousUpdates": U8 type, U8 enable-flag, U16 x, y, w, h.
      if (!r.has(9)) return need_more();
      EnableContinuousUpdates m;
      read_flag_and_area(r, m.enable, m.x, m.y, m.w, m.h);
      out = m;
      return ParseOutcome::ok();
    }
    case client_msg::kFence: {
      // "ClientFence": U8 type, 3 padding, U32 flags, U8 length, length x U8 payload. The length
      // is checked before waiting for the payload, so an over-long fence fails at once.
      if (!r.has(8)) return need_more();
      r.skip(3);
      const uint32_t flags = r.u32();
      const uint8_t len = r.u8();
      if (len > fence::kMaxPayload)
        return ParseOutcome::fail("Fence payload of " + std::to_string(len) +
                                  " bytes exceeds the protocol limit of " +
                                  std::to_string(fence::kMaxPayload));
      if (!r.has(len)) return need_more();
      auto payload = r.bytes(len);
      out = ClientFence{flags, std::vector<uint8_t>(payload.begin(), payload.end())};
      return ParseOutcome::ok();
    }
    default:
      return ParseOutcome::fail("unknown client message type " + std::to_string(type));
  }
}

void serialize(const ClientMessage& msg, ByteBuffer& out) {
  std::visit(Overloaded{
                 [&](const SetPixelFormat& m) {
                   out.u8(client_msg::kSetPixelFormat);
                   out.zeros(3);
                   m.format.serialize(out);
                 },
                 [&](const SetEncodings& m) {
                   out.u8(client_msg::kSetEncodings);
                   out.u8(0);
                   out.u16(static_cast<uint16_t>(m.encodings.size()));
                   for (int32_t e : m.encodings) out.s32(e);
                 },
                 [&](const FramebufferUpdateRequest& m) {
                   out.u8(client_msg::kFramebufferUpdateRequest);
                   out.u8(m.incremental ? 1 : 0);
                   out.u16(m.x);
                   out.u16(m.y);
                   out.u16(m.w);
                   out.u16(m.h);
                 },
                 [&](const KeyEvent& m) {
                   out.u8(client_msg::kKeyEvent);
                   out.u8(m.down ? 1 : 0);
                   out.zeros(2);
                   out.u32(m.keysym);
                 },
                 [&](const PointerEvent& m) {
                   out.u8(client_msg::kPointerEvent);
                   out.u8(m.button_mask);
                   out.u16(m.x);
                   out.u16(m.y);
                 },
                 [&](const ClientCutText& m) {
                   out.u8(client_msg::kClientCutText);
                   out.zeros(3);
                   out.u32(static_cast<uint32_t>(m.text.size()));
                   out.append(m.text);
                 },
                 [&](const EnableContinuousUpdates& m) {
                   out.u8(client_msg::kEnableContinuousUpdates);
                   out.u8(m.enable ? 1 : 0);
                   out.u16(m.x);
                   out.u16(m.y);
                   out.u16(m.w);
                   out.u16(m.h);
                 },
                 [&](const ClientFence& m) {
                   assert(m.payload.size() <= 255 && "the length field is a U8");
                   const size_t len = std::min<size_t>(m.payload.size(), 255);
                   out.u8(client_msg::kFence);
                   out.zeros(3);
                   out.u32(m.flags);
                   out.u8(static_cast<uint8_t>(len));
                   out.append(std::span<const uint8_t>(m.payload).first(len));
                 },
             },
             msg);
}

void write_framebuffer_update_header(ByteBuffer& out, uint16_t num_rects) {
  out.u8(server_msg::kFramebufferUpdate);
  out.u8(0);
  out.u16(num_rects);
}

void write_rect_header(ByteBuffer& out, const Rect& r, int32_t encoding) {
  out.u16(static_cast<uint16_t>(r.x));
  out.u16(static_cast<uint16_t>(r.y));
  out.u16(static_cast<uint16_t>(r.w));
  out.u16(static_cast<uint16_t>(r.h));
  out.s32(encoding);
}

void write_set_colour_map_entries(ByteBuffer& out, uint16_t first,
                                  std::span<const Colour16> colours) {
  out.u8(server_msg::kSetColourMapEntries);
  out.u8(0);
  out.u16(first);
  out.u16(static_cast<uint16_t>(colours.size()));
  for (const Colour16& c : colours) {
    out.u16(c.r);
    out.u16(c.g);
    out.u16(c.b);
  }
}

void write_bell(ByteBuffer& out) {
  out.u8(server_msg::kBell);
}

void write_server_cut_text(ByteBuffer& out, std::string_view latin1) {
  out.u8(server_msg::kServerCutText);
  out.zeros(3);
  out.u32(static_cast<uint32_t>(latin1.size()));
  out.append(latin1);
}

void write_end_of_continuous_updates(ByteBuffer& out) {
  out.u8(server_msg::kEndOfContinuousUpdates);
}

void write_fence(ByteBuffer& out, uint32_t flags, std::span<const uint8_t> payload) {
  assert(payload.size() <= fence::kMaxPayload && "ServerFence payload is at most 64 bytes");
  payload = payload.first(std::min(payload.size(), fence::kMaxPayload));
  out.u8(server_msg::kFence);
  out.zeros(3);
  out.u32(flags);
  out.u8(static_cast<uint8_t>(payload.size()));
  out.append(payload);
}

}  // namespace vncd::rfb
