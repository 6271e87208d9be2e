// Messages: the RFB client-to-server messages as structs with an incremental parser and
// serializers, and writers for the server-to-client messages. Pure functions over
// Reader/ByteBuffer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rfb/geometry.h"
#include "rfb/pixel_format.h"
#include "rfb/wire.h"

namespace vncd::rfb {

// Client-to-server message types (rfbproto.rst, "Client to Server Messages").
namespace client_msg {
inline constexpr uint8_t kSetPixelFormat = 0;
inline constexpr uint8_t kSetEncodings = 2;
inline constexpr uint8_t kFramebufferUpdateRequest = 3;
inline constexpr uint8_t kKeyEvent = 4;
inline constexpr uint8_t kPointerEvent = 5;
inline constexpr uint8_t kClientCutText = 6;
}  // namespace client_msg

// Server-to-client message types (rfbproto.rst, "Server to Client Messages").
namespace server_msg {
inline constexpr uint8_t kFramebufferUpdate = 0;
inline constexpr uint8_t kSetColourMapEntries = 1;
inline constexpr uint8_t kBell = 2;
inline constexpr uint8_t kServerCutText = 3;
}  // namespace server_msg

struct SetPixelFormat {
  PixelFormat format;
  bool operator==(const SetPixelFormat&) const = default;
};
struct SetEncodings {
  std::vector<int32_t> encodings;
  bool operator==(const SetEncodings&) const = default;
};
// Coordinates as sent; the connection clips them to the framebuffer.
struct FramebufferUpdateRequest {
  bool incremental = false;
  uint16_t x = 0, y = 0, w = 0, h = 0;
  bool operator==(const FramebufferUpdateRequest&) const = default;
};
struct KeyEvent {
  bool down = false;
  uint32_t keysym = 0;
  bool operator==(const KeyEvent&) const = default;
};
struct PointerEvent {
  uint8_t button_mask = 0;
  uint16_t x = 0, y = 0;
  bool operator==(const PointerEvent&) const = default;
};
struct ClientCutText {
  std::string text;  // Latin-1.
  // Set when the announced length exceeded the limit: the text is empty and the connection must
  // discard this many following bytes.
  uint32_t discard = 0;
  bool operator==(const ClientCutText&) const = default;
};

using ClientMessage = std::variant<SetPixelFormat, SetEncodings, FramebufferUpdateRequest, KeyEvent,
                                   PointerEvent, ClientCutText>;

// Limits on what a client may announce, checked before anything is allocated.
struct MessageLimits {
  // SetEncodings: more than any real client lists (TigerVNC sends about 30).
  uint16_t max_encodings = 1024;
  // ClientCutText longer than this is read and discarded, not buffered.
  uint32_t max_cut_text = 1u << 20;
  // ClientCutText longer than this (including "negative" lengths, which only the extended
  // clipboard extension defines) is a protocol violation.
  uint32_t max_cut_text_wire = 0x7FFFFFFFu;
};

struct ParseOutcome {
  enum class Status : uint8_t { kOk, kNeedMore, kFail };
  Status status = Status::kNeedMore;
  std::string reason;  // For kFail.

  static ParseOutcome ok() { return {Status::kOk, {}}; }
  static ParseOutcome need_more() { return {Status::kNeedMore, {}}; }
  static ParseOutcome fail(std::string why) { return {Status::kFail, std::move(why)}; }
};

// Parses one client message from `r`. kOk: `out` is set and the message consumed. kNeedMore:
// nothing consumed (callers restart from the same position with more bytes). kFail: the client
// sent something no valid client sends; the reason is fit for the log and the peer.
ParseOutcome parse_client_message(Reader& r, const MessageLimits& limits, ClientMessage& out);

// Client message serializers (used by test clients and fuzz seeds).
void serialize(const ClientMessage& msg, ByteBuffer& out);

// Server message writers.
void write_framebuffer_update_header(ByteBuffer& out, uint16_t num_rects);
void write_rect_header(ByteBuffer& out, const Rect& r, int32_t encoding);
void write_set_colour_map_entries(ByteBuffer& out, uint16_t first,
                                  std::span<const Colour16> colours);
void write_bell(ByteBuffer& out);
void write_server_cut_text(ByteBuffer& out, std::string_view latin1);

}  // namespace vncd::rfb
