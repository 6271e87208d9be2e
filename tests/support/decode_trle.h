// The tile layer shared by the TRLE and ZRLE reference decoders (RFC 6143 7.7.5 "TRLE",
// rfbproto.rst "ZRLE Encoding"), written from the spec text alone. Test-only; pure functions.
#pragma once

#include "rfb/geometry.h"
#include "rfb/result.h"
#include "rfb/wire.h"
#include "support/reference_decoder.h"

namespace vncd::test {

enum class RleVariant { kTrle, kZrle };

// Bytes per CPIXEL for `pf` as the spec defines it (3 or bytes_per_pixel()).
int cpixel_bytes(const rfb::PixelFormat& pf);

// Decodes the tiles of rectangle `r` (16x16 for TRLE, 64x64 for ZRLE) from `in` into `fb`.
// TRLE also accepts subencodings 127 and 129, which reuse the palette of the last tile in this
// rectangle that sent one (an error when there is none, or when 127 meets a palette of more
// than 16 colours).
Status decode_rle_tiles(rfb::Reader& in, const rfb::Rect& r, ClientFramebuffer& fb,
                        RleVariant variant);

}  // namespace vncd::test
