// Fuzz target: the post-auth message parser, parse_client_message, with limits taken from the
// input. Checks the incremental-parser contract (need-more consumes nothing, ok consumes
// something, nothing is read past the input), every limit, and that messages survive
// serialize -> parse unchanged (the ContinuousUpdates and Fence messages included). Input: 6 bytes
// of limits, then client messages.
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "rfb/messages.h"
#include "rfb/wire.h"

namespace {

using vncd::rfb::ClientMessage;
using vncd::rfb::MessageLimits;
using vncd::rfb::ParseOutcome;

void check_limits(const ClientMessage& m, const MessageLimits& limits) {
  if (const auto* e = std::get_if<vncd::rfb::SetEncodings>(&m)) {
    if (e->encodings.size() > limits.max_encodings) __builtin_trap();
  } else if (const auto* c = std::get_if<vncd::rfb::ClientCutText>(&m)) {
    if (c->text.size() > limits.max_cut_text) __builtin_trap();
    if (c->discard != 0 && (!c->text.empty() || c->discard <= limits.max_cut_text ||
                            c->discard > limits.max_cut_text_wire))
      __builtin_trap();
  } else if (const auto* p = std::get_if<vncd::rfb::SetPixelFormat>(&m)) {
    if (!p->format.validate()) __builtin_trap();
  } else if (const auto* f = std::get_if<vncd::rfb::ClientFence>(&m)) {
    if (f->payload.size() > vncd::rfb::fence::kMaxPayload) __builtin_trap();
    // A response never claims the request bit or a flag vncd does not understand.
    const uint32_t response = vncd::rfb::fence::response_flags(f->flags);
    if ((response & vncd::rfb::fence::kRequest) != 0 ||
        (response & ~vncd::rfb::fence::kUnderstood) != 0)
      __builtin_trap();
  }
}

void check_round_trip(const ClientMessage& m, const MessageLimits& limits) {
  if (const auto* c = std::get_if<vncd::rfb::ClientCutText>(&m); c && c->discard != 0) return;
  vncd::rfb::ByteBuffer buf;
  vncd::rfb::serialize(m, buf);
  vncd::rfb::Reader r(buf.span());
  ClientMessage again;
  ParseOutcome p = vncd::rfb::parse_client_message(r, limits, again);
  if (p.status != ParseOutcome::Status::kOk || r.remaining() != 0 || !(again == m))
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 6) return 0;
  MessageLimits limits;
  limits.max_encodings = static_cast<uint16_t>((data[0] << 8) | data[1]);
  // Small cut-text limits so the fuzzer reaches both sides of each.
  limits.max_cut_text = (uint32_t{data[2]} << 8) | data[3];
  limits.max_cut_text_wire =
      data[4] & 1 ? 0x7FFFFFFFu : limits.max_cut_text + ((uint32_t{data[4]} << 8) | data[5]);
  std::span<const uint8_t> rest(data + 6, size - 6);
  while (!rest.empty()) {
    vncd::rfb::Reader r(rest);
    ClientMessage m;
    ParseOutcome p = vncd::rfb::parse_client_message(r, limits, m);
    if (r.consumed() > rest.size()) __builtin_trap();
    if (p.status == ParseOutcome::Status::kNeedMore) {
      if (r.consumed() != 0) __builtin_trap();
      break;
    }
    if (p.status == ParseOutcome::Status::kFail) {
      if (p.reason.empty()) __builtin_trap();
      break;
    }
    if (r.consumed() == 0) __builtin_trap();
    check_limits(m, limits);
    check_round_trip(m, limits);
    rest = rest.subspan(r.consumed());
    if (const auto* c = std::get_if<vncd::rfb::ClientCutText>(&m); c && c->discard != 0)
      rest = rest.subspan(std::min<size_t>(c->discard, rest.size()));
  }
  return 0;
}
