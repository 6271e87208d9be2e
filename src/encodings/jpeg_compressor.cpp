#include "encodings/jpeg_compressor.h"

#include <turbojpeg.h>

#include <algorithm>
#include <string>

namespace vncd::enc {
namespace {

// 32 bpp, depth 24, little endian, red/green/blue in memory bytes 0/1/2: TJPF_RGBX.
rfb::PixelFormat rgbx_format() {
  rfb::PixelFormat pf = rfb::PixelFormat::rgb888();
  pf.big_endian = false;
  pf.red_shift = 0;
  pf.green_shift = 8;
  pf.blue_shift = 16;
  return pf;
}

int turbojpeg_subsampling(JpegSubsampling s) {
  switch (s) {
    case JpegSubsampling::k1X:
      return TJSAMP_444;
    case JpegSubsampling::k2X:
      return TJSAMP_422;
    case JpegSubsampling::k4X:
      return TJSAMP_420;
    case JpegSubsampling::kGray:
      return TJSAMP_GRAY;
  }
  return TJSAMP_444;
}

}  // namespace

void JpegCompressor::HandleDeleter::operator()(void* handle) const {
  if (handle) tjDestroy(static_cast<tjhandle>(handle));
}

JpegCompressor::JpegCompressor() : handle_(tjInitCompress()) {}
JpegCompressor::~JpegCompressor() = default;
JpegCompressor::JpegCompressor(JpegCompressor&&) noexcept = default;
JpegCompressor& JpegCompressor::operator=(JpegCompressor&&) noexcept = default;

int JpegCompressor::turbojpeg_format(const rfb::PixelFormat& pf) {
  if (!pf.true_colour || pf.bpp != 32 || pf.red_max != 255 || pf.green_max != 255 ||
      pf.blue_max != 255)
    return -1;
  if (pf.red_shift % 8 || pf.green_shift % 8 || pf.blue_shift % 8) return -1;
  // Memory byte of each channel: the shift's byte, counted from the other end when big endian.
  auto byte_of = [&](int shift) { return pf.big_endian ? 3 - shift / 8 : shift / 8; };
  const int r = byte_of(pf.red_shift), g = byte_of(pf.green_shift), b = byte_of(pf.blue_shift);
  if (r == 0 && g == 1 && b == 2) return TJPF_RGBX;
  if (r == 2 && g == 1 && b == 0) return TJPF_BGRX;
  if (r == 1 && g == 2 && b == 3) return TJPF_XRGB;
  if (r == 3 && g == 2 && b == 1) return TJPF_XBGR;
  return -1;
}

Status JpegCompressor::compress(const rfb::PixelView& pixels, int quality,
                                JpegSubsampling subsampling, rfb::ByteBuffer& out) {
  if (!handle_) return Error("TurboJPEG: tjInitCompress failed");
  if (!pixels.format.true_colour) return Error("JPEG needs true-colour pixels");
  if (pixels.width <= 0 || pixels.height <= 0) return Error("JPEG of an empty rectangle");

  const uint8_t* src = pixels.data;
  size_t pitch = pixels.stride;
  int tj_format = turbojpeg_format(pixels.format);
  if (tj_format < 0) {
    const rfb::PixelFormat rgbx = rgbx_format();
    if (!to_rgbx_ || to_rgbx_->source() != pixels.format)
      to_rgbx_ = std::make_unique<rfb::PixelConverter>(pixels.format, rgbx);
    pitch = static_cast<size_t>(pixels.width) * 4;
    scratch_.resize(pitch * static_cast<size_t>(pixels.height));
    to_rgbx_->convert(pixels.data, pixels.stride, scratch_.data(), pitch, pixels.width,
                      pixels.height);
    src = scratch_.data();
    tj_format = TJPF_RGBX;
  }

  const int tj_subsampling = turbojpeg_subsampling(subsampling);
  // Compress straight into `out`: tjBufSize() is TurboJPEG's worst case, so NOREALLOC holds.
  // Not zeroed (several times the JPEG's size): TurboJPEG writes `size` bytes, the rest is
  // truncated away.
  const unsigned long bound = tjBufSize(pixels.width, pixels.height, tj_subsampling);
  const size_t before = out.size();
  unsigned char* dst = out.grow_for_overwrite(bound);
  unsigned long size = bound;
  const int rc =
      tjCompress2(static_cast<tjhandle>(handle_.get()), src, pixels.width, static_cast<int>(pitch),
                  pixels.height, tj_format, &dst, &size, tj_subsampling,
                  std::clamp(quality, kMinQuality, kMaxQuality), TJFLAG_NOREALLOC);
  if (rc != 0) {
    out.truncate(before);
    return Error(std::string("TurboJPEG: ") + tjGetErrorStr2(static_cast<tjhandle>(handle_.get())));
  }
  out.truncate(before + size);
  return {};
}

}  // namespace vncd::enc
