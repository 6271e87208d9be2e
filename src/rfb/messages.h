// Messages: the RFB client-to-server messages as structs with an incremental parser and
// serializers, and writers for the server-to-client messages. Pure functions over
// Reader/ByteBuffer.
#pragma once

#include <cstddef>
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
inline constexpr uint8_t kEnableContinuousUpdates = 150;  // "EnableContinuousUpdates".
inline constexpr uint8_t kFence = 248;                    // "ClientFence".
}  // namespace client_msg

// Server-to-client message types (rfbproto.rst, "Server to Client Messages").
namespace server_msg {
inline constexpr uint8_t kFramebufferUpdate = 0;
inline constexpr uint8_t kSetColourMapEntries = 1;
inline constexpr uint8_t kBell = 2;
inline constexpr uint8_t kServerCutText = 3;
inline constexpr uint8_t kEndOfContinuousUpdates = 150;  // "EndOfContinuousUpdates".
inline constexpr uint8_t kFence = 248;                   // "ServerFence".
}  // namespace server_msg

// The Fence extension's flags and payload limit (rfbproto.rst, "ClientFence"; "ServerFence" has
// the same format), kept here so the parser, the writer and the session agree.
namespace fence {
inline constexpr uint32_t kBlockBefore = 1u << 0;
inline constexpr uint32_t kBlockAfter = 1u << 1;
inline constexpr uint32_t kSyncNext = 1u << 2;
inline constexpr uint32_t kRequest = 1u << 31;
// The flags a vncd response keeps set: the spec asks the responder to clear the bits it does not
// understand, so the peer learns what it may rely on. BlockBefore and BlockAfter hold because the
// loop thread handles client messages one at a time, in order. SyncNext holds only if the session
// sends its response after it has acted on the message that follows the fence (as TigerVNC does).
inline constexpr uint32_t kUnderstood = kBlockBefore | kBlockAfter | kSyncNext;
// "The size of this data is limited to 64 bytes".
inline constexpr size_t kMaxPayload = 64;

// The flags of the response to a fence request: Request cleared, bits vncd does not know dropped.
constexpr uint32_t response_flags(uint32_t request_flags) {
  return request_flags & kUnderstood;
}
}  // namespace fence

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

// Coordinates as sent; the connection clips them to the framebuffer like an update request's.
struct EnableContinuousUpdates {
  bool enable = false;
  uint16_t x = 0, y = 0, w = 0, h = 0;
  bool operator==(const EnableContinuousUpdates&) const = default;
};
// The parser accepts at most fence::kMaxPayload payload bytes; serialize() writes whatever it is
// given (up to 255, the U8 length's range) so tests can send over-long fences.
struct ClientFence {
  uint32_t flags = 0;
  std::vector<uint8_t> payload;
  bool operator==(const ClientFence&) const = default;
};

using ClientMessage =
    std::variant<SetPixelFormat, SetEncodings, FramebufferUpdateRequest, KeyEvent, PointerEvent,
                 ClientCutText, EnableContinuousUpdates, ClientFence>;

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
// rfbproto.rst "EndOfContinuousUpdates": the answer to every EnableContinuousUpdates with enable
// cleared, and the sign that the server supports the extension ("ContinuousUpdates
// Pseudo-encoding").
void write_end_of_continuous_updates(ByteBuffer& out);
// rfbproto.rst "ServerFence". The payload must be at most fence::kMaxPayload bytes (asserted;
// release builds send only the first kMaxPayload, so the peer never sees an invalid length).
void write_fence(ByteBuffer& out, uint32_t flags, std::span<const uint8_t> payload);

}  // namespace vncd::rfb
