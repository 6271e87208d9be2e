// VeNCrypt (rfbproto.rst, "VeNCrypt"), security type 19: version and subtype negotiation, the
// switch to TLS for the TLS* and X509* subtypes, then the inner exchange (None, VNC
// Authentication or Plain) over it. Handlers are per connection, loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "rfb/security.h"

namespace vncd::security {

// VeNCrypt subtype numbers (rfbproto.rst, "VeNCrypt").
namespace vencrypt {
inline constexpr uint32_t kPlain = 256;
inline constexpr uint32_t kTlsNone = 257;
inline constexpr uint32_t kTlsVnc = 258;
inline constexpr uint32_t kTlsPlain = 259;
inline constexpr uint32_t kX509None = 260;
inline constexpr uint32_t kX509Vnc = 261;
inline constexpr uint32_t kX509Plain = 262;

// The version vncd speaks: 0.2, the only one the spec describes.
inline constexpr uint8_t kVersionMajor = 0;
inline constexpr uint8_t kVersionMinor = 2;
// The subtype list is sent with a U8 count.
inline constexpr size_t kMaxSubtypes = 255;
}  // namespace vencrypt

// What a VeNCrypt handler needs for the chosen subtype; implemented by the registry (and by
// fakes in tests). Must outlive the handlers.
class VeNCryptServices {
 public:
  virtual ~VeNCryptServices() = default;
  // The TLS layer for a TLS* or X509* subtype; nullptr for subtypes without one (Plain).
  virtual std::unique_ptr<rfb::TransportLayer> layer(uint32_t subtype) = 0;
  // The exchange that follows (over the layer, if any): None, VNC Authentication or Plain.
  virtual std::unique_ptr<rfb::SecurityHandler> inner(uint32_t subtype) = 0;
};

class VeNCryptHandler final : public rfb::SecurityHandler {
 public:
  // `subtypes`: those offered, in order (1 to kMaxSubtypes of them).
  VeNCryptHandler(std::vector<uint32_t> subtypes, VeNCryptServices& services);

  uint8_t type() const override { return rfb::security::kVeNCrypt; }
  // Writes the server's version, 0.2.
  void start(rfb::ByteBuffer& out) override;
  rfb::SecurityStep step(rfb::Reader& in, rfb::ByteBuffer& out) override;

  uint32_t chosen() const { return chosen_; }

 private:
  enum class State : uint8_t { kVersion, kSubtype, kInnerStart, kInner, kDone };

  std::vector<uint32_t> subtypes_;
  VeNCryptServices& services_;
  std::unique_ptr<rfb::SecurityHandler> inner_;
  uint32_t chosen_ = 0;
  State state_ = State::kVersion;
};

}  // namespace vncd::security
