// Fuzz target: the VeNCrypt handler alone (version, subtype list and choice, the switch to a
// layer, the inner exchange), with fake services. Byte 0: chunk size; byte 1: how many subtypes
// are offered (1-8) from a fixed table rotated by byte 2. The rest is what the client sends; after
// a layer starts it is fed as if the layer had decrypted it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fuzz_security_support.h"
#include "rfb/wire.h"
#include "security/none_security.h"
#include "security/plain_auth.h"
#include "security/vencrypt.h"
#include "security/vnc_auth.h"

namespace {

namespace vc = vncd::security::vencrypt;

constexpr std::array<uint32_t, 8> kSubtypes = {vc::kPlain,     vc::kTlsNone,  vc::kTlsVnc,
                                               vc::kTlsPlain,  vc::kX509None, vc::kX509Vnc,
                                               vc::kX509Plain, 1234567};

bool has_layer(uint32_t s) {
  return s != vc::kPlain && s != 1234567;
}

class FakeServices final : public vncd::security::VeNCryptServices {
 public:
  FakeServices() : checker_(counting.fn()) {}
  vncd::fuzz::CountingChecker counting;
  int layers = 0;

  std::unique_ptr<vncd::rfb::TransportLayer> layer(uint32_t subtype) override {
    if (!has_layer(subtype)) return nullptr;
    ++layers;
    return std::make_unique<vncd::fuzz::NoWrapLayer>();
  }
  std::unique_ptr<vncd::rfb::SecurityHandler> inner(uint32_t subtype) override {
    switch (subtype) {
      case vc::kTlsNone:
      case vc::kX509None:
        return std::make_unique<vncd::security::NoneSecurityHandler>();
      case vc::kTlsVnc:
      case vc::kX509Vnc:
        return std::make_unique<vncd::security::VncAuthHandler>(passwords_,
                                                                vncd::fuzz::fixed_challenge);
      case vc::kPlain:
      case vc::kTlsPlain:
      case vc::kX509Plain:
        return std::make_unique<vncd::security::PlainAuthHandler>(users_, checker_);
      default:
        return nullptr;  // An unknown subtype: the handler must fail cleanly.
    }
  }

 private:
  vncd::security::VncPasswords passwords_{vncd::fuzz::kFuzzVncPassword,
                                          vncd::fuzz::kFuzzVncViewOnly};
  std::vector<std::string> users_{vncd::fuzz::kFuzzUser};
  vncd::security::PasswordChecker checker_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  vncd::fuzz::quiet_logs();
  const size_t chunk = 1 + data[0] % 16;
  const size_t count = 1 + data[1] % kSubtypes.size();
  std::vector<uint32_t> offered;
  for (size_t i = 0; i < count; ++i) offered.push_back(kSubtypes[(data[2] + i) % kSubtypes.size()]);

  FakeServices services;
  vncd::security::VeNCryptHandler handler(offered, services);
  vncd::rfb::ByteBuffer out;
  handler.start(out);
  if (out.size() != 2) __builtin_trap();
  out.consume(out.size());

  std::span<const uint8_t> input(data + 3, size - 3);
  std::vector<uint8_t> pending;
  size_t fed = 0;
  using Kind = vncd::rfb::SecurityStep::Kind;
  Kind last = Kind::kNeedMore;
  for (int steps = 0;; ++steps) {
    // A handler that never settles: beyond one step per chunk fed (a long Plain username fed a
    // byte at a time legitimately takes one each), at most 1000 more.
    if (steps > 1000 + static_cast<int>(input.size())) __builtin_trap();
    vncd::rfb::Reader r(pending);
    vncd::rfb::SecurityStep s = handler.step(r, out);
    last = s.kind;
    if (s.kind == Kind::kNeedMore && r.consumed() != 0) __builtin_trap();
    // Bounded answers: version + list, or an ack, or a challenge.
    if (out.size() > 2 + 4 * vc::kMaxSubtypes) __builtin_trap();
    out.consume(out.size());
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(r.consumed()));
    if (s.kind == Kind::kStartLayer) {
      if (!s.layer || !has_layer(handler.chosen())) __builtin_trap();
      continue;
    }
    if (s.kind == Kind::kSuccess || s.kind == Kind::kFailure) break;
    if (s.kind == Kind::kContinue) continue;
    if (fed == input.size()) break;
    const size_t n = std::min(chunk, input.size() - fed);
    pending.insert(pending.end(), input.begin() + static_cast<std::ptrdiff_t>(fed),
                   input.begin() + static_cast<std::ptrdiff_t>(fed + n));
    fed += n;
  }
  if (services.layers > 1) __builtin_trap();
  if (last == Kind::kSuccess) {
    const uint32_t chosen = handler.chosen();
    bool was_offered = false;
    for (uint32_t o : offered) was_offered = was_offered || o == chosen;
    if (!was_offered) __builtin_trap();
    if (has_layer(chosen) != (services.layers == 1)) __builtin_trap();
    const bool plain = chosen == vc::kPlain || chosen == vc::kTlsPlain || chosen == vc::kX509Plain;
    if (plain && services.counting.accepted != 1) __builtin_trap();
  }
  return 0;
}
