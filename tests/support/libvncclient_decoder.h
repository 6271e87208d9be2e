// Decodes server output with libvncclient (Debian's libvncserver-dev), an independent, widely used
// client, by running it against an in-process fake server over a socketpair. Test-only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rfb/pixel_format.h"
#include "rfb/result.h"

namespace vncd::test {

struct LibVncClientRun {
  int width = 0;
  int height = 0;
  rfb::PixelFormat client_format;  // What libvncclient asks for (and decodes into).
  std::string encodings;           // libvncclient's encodingsString, e.g. "zrle" or "tight".
  int compress_level = -1;         // -1: libvncclient's default.
  int quality_level = -1;          // -1: JPEG off.
  // Complete FramebufferUpdate messages, as vncd would send them after the client's
  // SetPixelFormat/SetEncodings.
  std::vector<std::vector<uint8_t>> updates;
};

// Returns libvncclient's framebuffer after it handled every update: width*height pixels in
// client_format, rows tightly packed.
Result<std::vector<uint8_t>> decode_with_libvncclient(const LibVncClientRun& run);

}  // namespace vncd::test
