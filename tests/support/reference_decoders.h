// The table of per-encoding reference decoders (other than Raw), one factory per encoding, each
// defined in its own decode_<encoding>.cpp. Test-only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "support/reference_decoder.h"

namespace vncd::test {

struct ReferenceDecoderEntry {
  int32_t encoding;
  std::unique_ptr<ReferenceDecoder> (*make)();
};

// Factories, one per file (decode_rre.cpp, decode_hextile.cpp, decode_zrle.cpp, ...).
std::unique_ptr<ReferenceDecoder> make_rre_decoder();
std::unique_ptr<ReferenceDecoder> make_corre_decoder();
std::unique_ptr<ReferenceDecoder> make_hextile_decoder();
std::unique_ptr<ReferenceDecoder> make_zlib_decoder();
std::unique_ptr<ReferenceDecoder> make_zrle_decoder();
std::unique_ptr<ReferenceDecoder> make_trle_decoder();
std::unique_ptr<ReferenceDecoder> make_tight_decoder();

std::span<const ReferenceDecoderEntry> reference_decoder_table();

}  // namespace vncd::test
