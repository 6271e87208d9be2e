#include "rfb/connection.h"

#include <algorithm>
#include <cassert>
#include <variant>

#include "rfb/log.h"

namespace vncd::rfb {
namespace {

constexpr size_t kVersionLength = 12;  // "RFB xxx.yyy\n"
constexpr char kServerVersion[] = "RFB 003.008\n";

// Types that exist in RFB 3.3, where the server decides alone (rfbproto.rst, "Security
// Handshake": version 3.3 only knows Invalid, None and VNC Authentication).
bool usable_in_rfb33(uint8_t type) {
  return type == security::kNone || type == security::kVncAuth;
}

void write_reason(ByteBuffer& out, const std::string& reason) {
  out.u32(static_cast<uint32_t>(reason.size()));
  out.append(reason);
}

// Parses "RFB xxx.yyy\n" (rfbproto.rst, "ProtocolVersion"). Returns false for garbage.
bool parse_version(std::span<const uint8_t> b, int& major, int& minor) {
  static constexpr char kPrefix[] = "RFB ";
  if (!std::equal(kPrefix, kPrefix + 4, b.begin())) return false;
  if (b[7] != '.' || b[11] != '\n') return false;
  major = minor = 0;
  for (int i = 4; i < 7; ++i) {
    if (b[i] < '0' || b[i] > '9') return false;
    major = major * 10 + (b[i] - '0');
  }
  for (int i = 8; i < 11; ++i) {
    if (b[i] < '0' || b[i] > '9') return false;
    minor = minor * 10 + (b[i] - '0');
  }
  return true;
}

}  // namespace

const char* to_string(ProtocolVersion v) {
  switch (v) {
    case ProtocolVersion::k3_3:
      return "3.3";
    case ProtocolVersion::k3_7:
      return "3.7";
    case ProtocolVersion::k3_8:
      return "3.8";
  }
  return "?";
}

Connection::Connection(SecurityProvider& security, ConnectionDelegate& delegate,
                       ConnectionConfig config)
    : security_(security), delegate_(delegate), config_(config) {
  out_.append(std::string_view(kServerVersion, kVersionLength));
}

Connection::~Connection() = default;

void Connection::feed(std::span<const uint8_t> bytes) {
  if (state_ == State::kClosed || bytes.empty()) return;
  // Decode straight from the caller's bytes when nothing is pending (the common case). Otherwise
  // append to the pending partial message: appends are amortised, and while a message is
  // incomplete nothing is consumed, so trickled input costs linear time, not quadratic.
  std::span<const uint8_t> input = bytes;
  const bool buffered = !in_.empty();
  if (buffered) {
    in_.insert(in_.end(), bytes.begin(), bytes.end());
    input = in_;
  }

  size_t pos = 0;
  // Steps run even with no input left: a security type may finish without reading anything (None),
  // and its SecurityResult must still go out.
  while (state_ != State::kClosed) {
    if (discard_ > 0) {
      // An over-long ClientCutText is skipped as it arrives, never buffered.
      if (pos == input.size()) break;
      size_t n = std::min<size_t>(discard_, input.size() - pos);
      discard_ -= static_cast<uint32_t>(n);
      pos += n;
      continue;
    }
    Reader r(input.subspan(pos));
    Progress p = step(r);
    pos += r.consumed();
    if (p == Progress::kStop) break;
  }
  if (state_ == State::kClosed) {
    std::vector<uint8_t>().swap(in_);
  } else if (buffered) {
    if (pos > 0) in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(pos));
  } else {
    in_.assign(input.begin() + static_cast<std::ptrdiff_t>(pos), input.end());
  }
}

Connection::Progress Connection::step(Reader& r) {
  switch (state_) {
    case State::kProtocolVersion:
      return on_version(r);
    case State::kSecurityType:
      return on_security_type(r);
    case State::kSecurity:
      return on_security(r);
    case State::kClientInit:
      return on_client_init(r);
    case State::kNormal:
      return on_message(r);
    case State::kSecurityFailurePending:
      // The client has nothing to say until it hears the result; ignore what it sends.
      r.skip(r.remaining());
      return Progress::kStop;
    case State::kClosed:
      return Progress::kStop;
  }
  return Progress::kStop;
}

Connection::Progress Connection::on_version(Reader& r) {
  if (!r.has(kVersionLength)) {
    // Refuse garbage as soon as it is visibly garbage, rather than waiting for 12 bytes.
    auto got = r.bytes(r.remaining());
    static constexpr char kPrefix[] = "RFB ";
    const size_t n = std::min<size_t>(got.size(), 4);
    if (!std::equal(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(n), kPrefix)) {
      fail("not an RFB client (bad ProtocolVersion)");
    } else {
      r = Reader(got);  // Consume nothing.
    }
    return Progress::kStop;
  }
  int major = 0, minor = 0;
  if (!parse_version(r.bytes(kVersionLength), major, minor) || major < 3) {
    fail("not an RFB client (bad ProtocolVersion)");
    return Progress::kStop;
  }
  // rfbproto.rst "ProtocolVersion": any other 3.x below 3.7 (e.g. 3.5) is treated as 3.3;
  // versions above 3.8 (3.889 from Apple, 4.x from RealVNC) get the newest we speak.
  if (major == 3 && minor < 7)
    version_ = ProtocolVersion::k3_3;
  else if (major == 3 && minor == 7)
    version_ = ProtocolVersion::k3_7;
  else
    version_ = ProtocolVersion::k3_8;

  std::vector<uint8_t> offered = security_.offered();
  if (version_ == ProtocolVersion::k3_3) {
    // "Security Handshake", version 3.3: the server decides and sends a U32 type; 0 is followed
    // by a reason string.
    auto it = std::find_if(offered.begin(), offered.end(), usable_in_rfb33);
    if (it == offered.end()) {
      const std::string reason = "no security type available for an RFB 3.3 client";
      out_.u32(security::kInvalid);
      write_reason(out_, reason);
      fail(reason);
      return Progress::kStop;
    }
    out_.u32(*it);
    begin_security(*it);
    return Progress::kContinue;
  }
  // Versions 3.7 and 3.8: U8 count and the list; a count of 0 is followed by a reason string.
  if (offered.empty()) {
    const std::string reason = "no security types configured";
    out_.u8(0);
    write_reason(out_, reason);
    fail(reason);
    return Progress::kStop;
  }
  out_.u8(static_cast<uint8_t>(offered.size()));
  for (uint8_t t : offered) out_.u8(t);
  state_ = State::kSecurityType;
  return Progress::kContinue;
}

Connection::Progress Connection::on_security_type(Reader& r) {
  if (!r.has(1)) return Progress::kStop;
  const uint8_t chosen = r.u8();
  std::vector<uint8_t> offered = security_.offered();
  if (std::find(offered.begin(), offered.end(), chosen) == offered.end()) {
    security_type_ = chosen;
    invalid_choice_ = true;
    security_failed("security type " + std::to_string(chosen) + " was not offered");
    return Progress::kStop;
  }
  begin_security(chosen);
  return Progress::kContinue;
}

void Connection::begin_security(uint8_t type) {
  security_type_ = type;
  handler_ = security_.create(type);
  assert(handler_ && "SecurityProvider::create must serve every offered type");
  state_ = State::kSecurity;
  handler_->start(out_);
}

Connection::Progress Connection::on_security(Reader& r) {
  SecurityStep s = handler_->step(r, out_);
  switch (s.kind) {
    case SecurityStep::Kind::kNeedMore:
      return Progress::kStop;
    case SecurityStep::Kind::kContinue:
      return Progress::kContinue;
    case SecurityStep::Kind::kFailure:
      security_failed(s.reason);
      return Progress::kStop;
    case SecurityStep::Kind::kStartLayer:
      // The client speaks to the layer (a TLS ClientHello) only after it has read our reply, so
      // bytes already here were sent too early and cannot be told apart from the layer's own.
      if (r.remaining() != 0) {
        fail("client sent data before the security layer was set up");
        return Progress::kStop;
      }
      if (!s.layer || !delegate_.on_transport_layer(std::move(s.layer))) {
        fail("this connection cannot use security type " + std::to_string(security_type_));
        return Progress::kStop;
      }
      // The handler goes on at once (writing what comes first over the layer, if anything).
      return Progress::kContinue;
    case SecurityStep::Kind::kSuccess:
      break;
  }
  auth_ = std::move(s.auth);
  handler_.reset();
  // rfbproto.rst "SecurityResult": sent for every type from 3.8 on; in 3.3 and 3.7 not for None.
  if (version_ == ProtocolVersion::k3_8 || security_type_ != security::kNone) out_.u32(0);
  state_ = State::kClientInit;
  return Progress::kContinue;
}

void Connection::security_failed(const std::string& reason) {
  handler_.reset();
  failure_reason_ = reason;
  state_ = State::kSecurityFailurePending;
}

void Connection::release_failure() {
  if (state_ != State::kSecurityFailurePending) return;
  // A choice that was never offered has no SecurityResult to carry it in 3.7 (the client may
  // have chosen None, which gets none there): just close. 3.8 clients get the reason.
  if (!(invalid_choice_ && version_ == ProtocolVersion::k3_7)) {
    out_.u32(1);
    // "SecurityResult": the failure reason string exists only from 3.8 on.
    if (version_ == ProtocolVersion::k3_8) write_reason(out_, failure_reason_);
  }
  fail(failure_reason_);
}

Connection::Progress Connection::on_client_init(Reader& r) {
  if (!r.has(1)) return Progress::kStop;
  const bool shared = r.u8() != 0;
  ServerInitInfo info = delegate_.on_client_init(shared);
  if (state_ == State::kClosed) return Progress::kStop;  // The delegate refused the client.
  // "ServerInit": U16 width, U16 height, PIXEL_FORMAT, U32 name-length, name.
  fb_size_ = info.size;
  out_.u16(static_cast<uint16_t>(info.size.width));
  out_.u16(static_cast<uint16_t>(info.size.height));
  info.format.serialize(out_);
  write_reason(out_, info.name);
  state_ = State::kNormal;
  return Progress::kContinue;
}

Rect Connection::clip_to_framebuffer(uint16_t x, uint16_t y, uint16_t w, uint16_t h) const {
  return Rect{x, y, w, h}.intersect(Rect{0, 0, fb_size_.width, fb_size_.height});
}

Connection::Progress Connection::on_message(Reader& r) {
  ClientMessage msg;
  ParseOutcome p = parse_client_message(r, config_.limits, msg);
  if (p.status == ParseOutcome::Status::kNeedMore) return Progress::kStop;
  if (p.status == ParseOutcome::Status::kFail) {
    // RFB has no way to tell the client why after the handshake: the reason goes to the log.
    fail(p.reason);
    return Progress::kStop;
  }
  // One branch per message of rfbproto.rst "Client to Server Messages" that vncd accepts.
  if (auto* m = std::get_if<SetPixelFormat>(&msg)) {
    delegate_.on_set_pixel_format(m->format);
  } else if (auto* e = std::get_if<SetEncodings>(&msg)) {
    delegate_.on_set_encodings(e->encodings);
  } else if (auto* u = std::get_if<FramebufferUpdateRequest>(&msg)) {
    delegate_.on_update_request(clip_to_framebuffer(u->x, u->y, u->w, u->h), u->incremental);
  } else if (auto* k = std::get_if<KeyEvent>(&msg)) {
    delegate_.on_key(k->keysym, k->down);
  } else if (auto* pe = std::get_if<PointerEvent>(&msg)) {
    int x = std::min<int>(pe->x, std::max(fb_size_.width - 1, 0));
    int y = std::min<int>(pe->y, std::max(fb_size_.height - 1, 0));
    delegate_.on_pointer(x, y, pe->button_mask);
  } else if (auto* c = std::get_if<ClientCutText>(&msg)) {
    if (c->discard > 0) {
      discard_ = c->discard;
      delegate_.on_cut_text_dropped(c->discard);
    } else {
      delegate_.on_cut_text(c->text);
    }
  } else if (auto* cu = std::get_if<EnableContinuousUpdates>(&msg)) {
    // "EnableContinuousUpdates".
    delegate_.on_enable_continuous_updates(cu->enable,
                                           clip_to_framebuffer(cu->x, cu->y, cu->w, cu->h));
  } else if (auto* f = std::get_if<ClientFence>(&msg)) {
    // "ClientFence"; the parser has bounded the payload to fence::kMaxPayload.
    delegate_.on_fence(f->flags, f->payload);
  }
  return Progress::kContinue;
}

void Connection::close(std::string reason) {
  if (state_ == State::kClosed) return;
  fail(reason);
}

void Connection::fail(const std::string& reason) {
  if (state_ == State::kClosed) return;
  close_reason_ = reason;
  state_ = State::kClosed;
  handler_.reset();
}

}  // namespace vncd::rfb
