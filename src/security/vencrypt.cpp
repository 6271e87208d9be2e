#include "security/vencrypt.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

namespace vncd::security {

VeNCryptHandler::VeNCryptHandler(std::vector<uint32_t> subtypes, VeNCryptServices& services)
    : subtypes_(std::move(subtypes)), services_(services) {
  assert(!subtypes_.empty() && subtypes_.size() <= vencrypt::kMaxSubtypes);
}

void VeNCryptHandler::start(rfb::ByteBuffer& out) {
  // "After VeNCrypt security type is selected server sends the highest version of VeNCrypt it
  // can support."
  out.u8(vencrypt::kVersionMajor);
  out.u8(vencrypt::kVersionMinor);
}

rfb::SecurityStep VeNCryptHandler::step(rfb::Reader& in, rfb::ByteBuffer& out) {
  switch (state_) {
    case State::kVersion: {
      if (!in.has(2)) return rfb::SecurityStep::need_more();
      const uint8_t major = in.u8();
      const uint8_t minor = in.u8();
      if (major != vencrypt::kVersionMajor || minor != vencrypt::kVersionMinor) {
        // "Non-zero value means failure and connection will be closed."
        out.u8(255);
        state_ = State::kDone;
        return rfb::SecurityStep::failure("unsupported VeNCrypt version " + std::to_string(major) +
                                          "." + std::to_string(minor) + " (vncd speaks 0.2)");
      }
      out.u8(0);
      // The subtype list: U8 count, U32 subtypes, in order of preference.
      out.u8(static_cast<uint8_t>(subtypes_.size()));
      for (uint32_t s : subtypes_) out.u32(s);
      state_ = State::kSubtype;
      return rfb::SecurityStep::proceed();
    }
    case State::kSubtype: {
      if (!in.has(4)) return rfb::SecurityStep::need_more();
      chosen_ = in.u32();
      if (std::find(subtypes_.begin(), subtypes_.end(), chosen_) == subtypes_.end()) {
        state_ = State::kDone;
        return rfb::SecurityStep::failure("VeNCrypt subtype " + std::to_string(chosen_) +
                                          " was not offered");
      }
      state_ = State::kInnerStart;
      if (std::unique_ptr<rfb::TransportLayer> layer = services_.layer(chosen_)) {
        // "For TLS and X509 subtypes, the server then sends a one byte response ... One value
        // means success." Then the TLS handshake, then everything else over TLS.
        out.u8(1);
        return rfb::SecurityStep::start_layer(std::move(layer));
      }
      return rfb::SecurityStep::proceed();
    }
    case State::kInnerStart:
      inner_ = services_.inner(chosen_);
      if (!inner_) {
        state_ = State::kDone;
        return rfb::SecurityStep::failure("VeNCrypt subtype " + std::to_string(chosen_) +
                                          " is not available");
      }
      inner_->start(out);
      state_ = State::kInner;
      [[fallthrough]];
    case State::kInner: {
      rfb::SecurityStep s = inner_->step(in, out);
      if (s.kind == rfb::SecurityStep::Kind::kSuccess ||
          s.kind == rfb::SecurityStep::Kind::kFailure) {
        state_ = State::kDone;
        inner_.reset();
      }
      // An inner handler adding a layer of its own would be a second TLS inside the first.
      if (s.kind == rfb::SecurityStep::Kind::kStartLayer) {
        state_ = State::kDone;
        return rfb::SecurityStep::failure("nested security layers are not supported");
      }
      return s;
    }
    case State::kDone:
      break;
  }
  return rfb::SecurityStep::failure("VeNCrypt step out of order");
}

}  // namespace vncd::security
