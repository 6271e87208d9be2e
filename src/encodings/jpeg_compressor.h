// JpegCompressor: an RAII TurboJPEG compressor that turns a block of true-colour pixels into a
// JFIF stream (Tight's JpegCompression). Move-only; one thread at a time (one per encoder).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rfb/frame.h"
#include "rfb/pixel_converter.h"
#include "rfb/result.h"
#include "rfb/wire.h"

namespace vncd::enc {

// Chrominance subsampling, named by the JPEG Subsampling Level pseudo-encoding's factors
// (rfbproto.rst "JPEG Subsampling Level Pseudo-Encoding"): k1X = 4:4:4, k2X = 4:2:2,
// k4X = 4:2:0, kGray = luminance only.
enum class JpegSubsampling : uint8_t { k1X, k2X, k4X, kGray };

class JpegCompressor {
 public:
  static constexpr int kMinQuality = 1;
  static constexpr int kMaxQuality = 100;

  JpegCompressor();
  ~JpegCompressor();
  JpegCompressor(JpegCompressor&&) noexcept;
  JpegCompressor& operator=(JpegCompressor&&) noexcept;
  JpegCompressor(const JpegCompressor&) = delete;
  JpegCompressor& operator=(const JpegCompressor&) = delete;

  // Appends the JFIF stream of `pixels` (any valid true-colour format with channel maxima <= 255;
  // 32 bpp formats with byte-aligned 8-bit channels are read in place, others are converted to
  // RGB first) to `out`. `quality` is clamped to 1..100. On failure `out` is left as it was.
  Status compress(const rfb::PixelView& pixels, int quality, JpegSubsampling subsampling,
                  rfb::ByteBuffer& out);

  // The TurboJPEG pixel format (TJPF_*) that reads `pf` in place, or -1 when there is none.
  static int turbojpeg_format(const rfb::PixelFormat& pf);

 private:
  struct HandleDeleter {
    void operator()(void* handle) const;
  };
  std::unique_ptr<void, HandleDeleter> handle_;
  // For formats TurboJPEG cannot read in place: to R,G,B,X bytes. Rebuilt when the source
  // format changes.
  std::unique_ptr<rfb::PixelConverter> to_rgbx_;
  std::vector<uint8_t> scratch_;
};

}  // namespace vncd::enc
