#include "encodings/registry.h"

#include "encodings/hextile_encoder.h"
#include "encodings/raw_encoder.h"
#include "encodings/rre_encoder.h"
#include "encodings/tight_encoder.h"
#include "encodings/trle_encoder.h"
#include "encodings/zlib_encoder.h"
#include "encodings/zrle_encoder.h"

namespace vncd::enc {

EncoderRegistry EncoderRegistry::builtin() {
  EncoderRegistry r;
  r.add(rfb::encoding::kRaw, "Raw", [] { return std::make_unique<RawEncoder>(); });
  r.add(rfb::encoding::kRRE, "RRE", [] { return std::make_unique<RreEncoder>(); });
  r.add(rfb::encoding::kCoRRE, "CoRRE", [] { return std::make_unique<CoRreEncoder>(); });
  r.add(rfb::encoding::kHextile, "Hextile", [] { return std::make_unique<HextileEncoder>(); });
  r.add(rfb::encoding::kZlib, "Zlib", [] { return std::make_unique<ZlibEncoder>(); });
  r.add(rfb::encoding::kTight, "Tight", [] { return std::make_unique<TightEncoder>(); });
  r.add(rfb::encoding::kTRLE, "TRLE", [] { return std::make_unique<TrleEncoder>(); });
  r.add(rfb::encoding::kZRLE, "ZRLE", [] { return std::make_unique<ZrleEncoder>(); });
  return r;
}

void EncoderRegistry::add(int32_t encoding, std::string name, Factory factory) {
  entries_[encoding] = Entry{std::move(name), std::move(factory)};
}

std::unique_ptr<rfb::Encoder> EncoderRegistry::create(int32_t encoding) const {
  auto it = entries_.find(encoding);
  if (it == entries_.end()) return nullptr;
  return it->second.factory();
}

std::string EncoderRegistry::name(int32_t encoding) const {
  auto it = entries_.find(encoding);
  if (it != entries_.end()) return it->second.name;
  return std::to_string(encoding);
}

}  // namespace vncd::enc
