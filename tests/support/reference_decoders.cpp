#include "support/reference_decoders.h"

namespace vncd::test {

std::span<const ReferenceDecoderEntry> reference_decoder_table() {
  // One row per encoding with a reference decoder; each author adds theirs.
  static const ReferenceDecoderEntry table[] = {
      {-1, nullptr},  // Sentinel so the array is never empty; never matches a real encoding.
      {2, &make_rre_decoder},
      {4, &make_corre_decoder},
      {5, &make_hextile_decoder},
      {6, &make_zlib_decoder},
      {7, &make_tight_decoder},
      {15, &make_trle_decoder},
      {16, &make_zrle_decoder},
  };
  return std::span<const ReferenceDecoderEntry>(table).subspan(1);
}

}  // namespace vncd::test
