// The None security type (rfbproto.rst, "Security Types" > "None"): no exchange at all.
// A per-connection handler used on the loop thread only; it holds no state.
#pragma once

#include "rfb/security.h"

namespace vncd::security {

class NoneSecurityHandler final : public rfb::SecurityHandler {
 public:
  uint8_t type() const override { return rfb::security::kNone; }
  // None sends nothing of its own.
  void start(rfb::ByteBuffer& out) override;
  // Succeeds at once, consuming nothing (the client sends nothing for None).
  rfb::SecurityStep step(rfb::Reader& in, rfb::ByteBuffer& out) override;
};

}  // namespace vncd::security
