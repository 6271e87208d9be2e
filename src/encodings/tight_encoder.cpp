#include "encodings/tight_encoder.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstdlib>
#include <cstring>

#include "encodings/pixels.h"

namespace vncd::enc {
namespace tight {
namespace {

// Encodes `length` into buf; returns the byte count (rfbproto.rst "Tight Encoding", the compact
// representation under JpegCompression).
size_t encode_compact_length(size_t length, uint8_t buf[3]) {
  assert(length <= kMaxCompactLength);
  buf[0] = static_cast<uint8_t>(length & 0x7f);
  if (length < 0x80) return 1;
  buf[0] |= 0x80;
  buf[1] = static_cast<uint8_t>((length >> 7) & 0x7f);
  if (length < 0x4000) return 2;
  buf[1] |= 0x80;
  buf[2] = static_cast<uint8_t>(length >> 14);
  return 3;
}

constexpr int kJpegQuality[10] = {15, 29, 41, 42, 62, 77, 79, 86, 92, 100};
constexpr JpegSubsampling kJpegSubsampling[10] = {
    JpegSubsampling::k4X, JpegSubsampling::k4X, JpegSubsampling::k4X, JpegSubsampling::k2X,
    JpegSubsampling::k2X, JpegSubsampling::k2X, JpegSubsampling::k1X, JpegSubsampling::k1X,
    JpegSubsampling::k1X, JpegSubsampling::k1X};

constexpr int kGradientSampleRows = 4;

inline int predict(int left, int above, int above_left) {
  return std::clamp(left + above - above_left, 0, 255);
}

}  // namespace

void write_compact_length(rfb::ByteBuffer& out, size_t length) {
  uint8_t buf[3];
  out.append(std::span<const uint8_t>(buf, encode_compact_length(length, buf)));
}

size_t compact_length_size(size_t length) {
  return length < 0x80 ? 1 : length < 0x4000 ? 2 : 3;
}

bool uses_rgb24(const rfb::PixelFormat& pf) {
  return pf.true_colour && pf.bpp == 32 && pf.depth == 24 && pf.red_max == 255 &&
         pf.green_max == 255 && pf.blue_max == 255;
}

void gradient_filter_rgb24(const uint8_t* rgbx, size_t stride, int w, int h, uint8_t* out) {
  // rfbproto.rst "GradientFilter": D = V - clamp(V[left] + V[above] - V[above-left]), with
  // pixels outside the rectangle taken as zero; differences wrap modulo 256. The prediction
  // reads only input pixels, so each row is one straight loop the compiler can unroll.
  for (int y = 0; y < h; ++y) {
    const uint8_t* row = rgbx + static_cast<size_t>(y) * stride;
    if (y == 0) {
      for (int c = 0; c < 3; ++c) *out++ = row[c];
      for (int x = 1; x < w; ++x) {
        const uint8_t* p = row + static_cast<size_t>(x) * 4;
        out[0] = static_cast<uint8_t>(p[0] - p[-4]);
        out[1] = static_cast<uint8_t>(p[1] - p[-3]);
        out[2] = static_cast<uint8_t>(p[2] - p[-2]);
        out += 3;
      }
      continue;
    }
    const uint8_t* up = row - stride;
    for (int c = 0; c < 3; ++c) *out++ = static_cast<uint8_t>(row[c] - up[c]);
    for (int x = 1; x < w; ++x) {
      const uint8_t* p = row + static_cast<size_t>(x) * 4;
      const uint8_t* a = up + static_cast<size_t>(x) * 4;
      out[0] = static_cast<uint8_t>(p[0] - predict(p[-4], a[0], a[-4]));
      out[1] = static_cast<uint8_t>(p[1] - predict(p[-3], a[1], a[-3]));
      out[2] = static_cast<uint8_t>(p[2] - predict(p[-2], a[2], a[-2]));
      out += 3;
    }
  }
}

bool prefers_gradient(const uint8_t* rgbx, size_t stride, int w, int h) {
  if (w < 2 || h < 2) return false;
  // Sample about 4 rows (thousands of pixels in a wide rectangle): enough to tell photos from
  // flat UI at a small fraction of a filter pass.
  const int step = std::max(1, h / kGradientSampleRows);
  uint64_t samples = 0, repeats = 0, residual = 0;
  for (int y = 1; y < h; y += step) {
    const uint8_t* row = rgbx + static_cast<size_t>(y) * stride;
    const uint8_t* up = row - stride;
    for (int x = 1; x < w; ++x) {
      const uint8_t* p = row + static_cast<size_t>(x) * 4;
      const uint8_t* a = up + static_cast<size_t>(x) * 4;
      if (p[0] == p[-4] && p[1] == p[-3] && p[2] == p[-2]) ++repeats;
      for (int c = 0; c < 3; ++c)
        residual += static_cast<uint64_t>(
            std::abs(static_cast<int8_t>(p[c] - predict(p[c - 4], a[c], a[c - 4]))));
      ++samples;
    }
  }
  // Many exact repeats mean flat areas, which deflate's string matching already handles; a
  // large mean residual means noise, which no filter helps.
  constexpr uint64_t kMaxRepeatPercent = 25, kMaxMeanResidual = 24;
  if (repeats * 100 >= samples * kMaxRepeatPercent) return false;
  return residual < samples * 3 * kMaxMeanResidual;
}

void pack_mono(const uint8_t* indexes, size_t index_stride, int w, int h, uint8_t* out) {
  const size_t row_bytes = (static_cast<size_t>(w) + 7) / 8;
  for (int y = 0; y < h; ++y, out += row_bytes) {
    const uint8_t* src = indexes + static_cast<size_t>(y) * index_stride;
    std::memset(out, 0, row_bytes);
    for (int x = 0; x < w; ++x)
      if (src[x]) out[x >> 3] = static_cast<uint8_t>(out[x >> 3] | (0x80 >> (x & 7)));
  }
}

JpegOptions jpeg_options(const rfb::EncodeSettings& settings) {
  JpegOptions o;
  o.fine_quality = settings.fine_quality;
  if (settings.subsampling >= 0 && settings.subsampling <= 5) {
    static constexpr JpegSubsampling kMap[6] = {JpegSubsampling::k1X, JpegSubsampling::k4X,
                                                JpegSubsampling::k2X, JpegSubsampling::kGray,
                                                JpegSubsampling::k4X, JpegSubsampling::k4X};
    o.subsampling = kMap[settings.subsampling];
  }
  return o;
}

JpegParams jpeg_params(const rfb::EncodeSettings& settings, const JpegOptions& options) {
  JpegParams p;
  const int level = settings.quality_level;
  // rfbproto.rst "JPEG Quality Level Pseudo-encoding": without it, no JpegCompression.
  if (level < 0 || level > 9) return p;
  p.enabled = true;
  p.quality = kJpegQuality[level];
  p.subsampling = kJpegSubsampling[level];
  if (options.fine_quality >= 0)
    p.quality =
        std::clamp(options.fine_quality, JpegCompressor::kMinQuality, JpegCompressor::kMaxQuality);
  if (options.subsampling) p.subsampling = *options.subsampling;
  return p;
}

JpegParams capped(const JpegParams& params, const rfb::EncodeSettings& settings) {
  JpegParams p = params;
  if (settings.jpeg_quality_cap >= 0)
    p.quality = std::max(JpegCompressor::kMinQuality,
                         std::min(p.quality, std::min(settings.jpeg_quality_cap, 100)));
  if (settings.jpeg_subsampling_cap >= 0 && settings.jpeg_subsampling_cap <= 5) {
    // Coarseness: 1X < 2X < 4X (8X and 16X map to 4X) < grey.
    auto rank = [](JpegSubsampling s) {
      switch (s) {
        case JpegSubsampling::k1X:
          return 0;
        case JpegSubsampling::k2X:
          return 1;
        case JpegSubsampling::k4X:
          return 2;
        case JpegSubsampling::kGray:
          return 3;
      }
      return 0;
    };
    rfb::EncodeSettings only;
    only.subsampling = settings.jpeg_subsampling_cap;
    const JpegSubsampling cap = *jpeg_options(only).subsampling;
    if (rank(cap) > rank(p.subsampling)) p.subsampling = cap;
  }
  return p;
}

}  // namespace tight

namespace {

// zlib levels per stream kind for each compression level 0..9: TigerVNC's table, except
// - the default level 2 deflates palette data at level 1: text rectangles cost 30% less CPU for
//   1.5% more bytes (bench_encode "Tight+JPEG q8" on ui);
// - level 3 (libvncclient's default) deflates 1-bit data at level 1, not 5: packed bits give
//   deflate short matches only, so the deeper search is wasted. bench_encode "Tight+JPEG q8 c3":
//   ui 15.3 to 8.8 ms for 1.5% more bytes, mixed 11.7 to 8.5 ms for 0.2%.
struct ZlibLevels {
  int indexed, mono, raw;
};
constexpr ZlibLevels kZlibLevels[10] = {{0, 0, 0}, {1, 1, 1}, {1, 1, 2}, {5, 1, 2}, {6, 7, 3},
                                        {7, 8, 4}, {7, 8, 5}, {8, 9, 6}, {9, 9, 7}, {9, 9, 9}};
// Palette data at levels 1 to 3 goes through ZlibStream::compress_lazy() (deflate_lazy()'s
// search, with the stream's history as zlib has it) instead of zlib (0: zlib), indexes at this
// chain depth: on terminal text (bench_encode "deflate Tight indexes" on the e2e screen) chain 2
// is 23% smaller than zlib level 1 at 0.4x its CPU, chain 8 within 9% of level 5 at a quarter.
// Levels from 4 ask for zlib's best ratios and keep it.
constexpr int kLazyChain[10] = {0, 2, 2, 8, 0, 0, 0, 0, 0, 0};
// 1-bit data at those levels, whatever the level: packed bits give short matches only, which a
// deeper search does not improve. Full-frame Tight+JPEG at level 3 on the e2e screens, against
// zlib level 1 (callgrind, one lane): mixed 2.0% fewer instructions per update and 1.2% fewer
// bytes, UI 5.7% and 5.7%; chain 8 saved 0.4 to 2% more bytes for 1 to 2% more instructions.
constexpr int kMonoChain = 2;

// Rewrites the 3 bytes reserved at `at` as the compact length of everything after them, moving
// the payload down when the length needs fewer bytes.
void finish_compact_length(rfb::ByteBuffer& out, size_t at) {
  const size_t length = out.size() - at - 3;
  uint8_t buf[3];
  const size_t n = tight::encode_compact_length(length, buf);
  if (n < 3) std::memmove(out.data() + at + n, out.data() + at + 3, length);
  std::memcpy(out.data() + at, buf, n);
  out.truncate(at + n + length);
}

// A native pixel as stored (load_pixel<T>, host order) to its value in the format's byte order.
uint32_t native_value(uint32_t stored, const rfb::PixelFormat& pf) {
  const bool swap = pf.big_endian != (std::endian::native == std::endian::big);
  if (!swap) return stored;
  if (pf.bpp == 16) {
    const uint32_t v = stored & 0xffff;
    return ((v & 0xff) << 8) | (v >> 8);
  }
  if (pf.bpp == 32)
    return ((stored & 0xff) << 24) | ((stored & 0xff00) << 8) | ((stored >> 8) & 0xff00) |
           (stored >> 24);
  return stored;
}

}  // namespace

TightEncoder::TightEncoder() = default;
TightEncoder::~TightEncoder() = default;

rfb::EncoderTraits TightEncoder::traits() const {
  rfb::EncoderTraits t;
  t.input = rfb::EncoderTraits::Input::kNativeFormat;
  t.lossy = true;
  t.max_width = tight::kMaxWidth;
  t.max_height = kMaxHeight;
  t.max_lanes = 4;  // One zlib stream each (rfbproto.rst "Tight Encoding": any stream id).
  return t;
}

void TightEncoder::set_lane(int lane, int lanes) {
  assert(lanes >= 1 && lanes <= 4 && lane >= 0 && lane < lanes);
  if (lane == lane_ && lanes == lanes_) return;
  // The client's copies of the streams this instance will use were last fed by someone else
  // (another lane's instance, or this one under another split): start them afresh.
  pending_resets_ = static_cast<uint8_t>(pending_resets_ | own_streams(lane, lanes));
  lane_ = lane;
  lanes_ = lanes;
}

void TightEncoder::write_tpixel(rfb::ByteBuffer& out, const rfb::EncodeContext& ctx,
                                uint32_t native) const {
  // native is a stored palette value of the native format; TPIXEL is in the client's format.
  const rfb::PixelFormat& pf = ctx.client_format;
  const uint32_t v = ctx.converter.convert_pixel(native_value(native, ctx.converter.source()));
  if (tight::uses_rgb24(pf)) {
    out.u8(static_cast<uint8_t>(v >> pf.red_shift));
    out.u8(static_cast<uint8_t>(v >> pf.green_shift));
    out.u8(static_cast<uint8_t>(v >> pf.blue_shift));
    return;
  }
  const int bytes = pf.bytes_per_pixel();
  for (int i = 0; i < bytes; ++i) {
    const int shift = pf.big_endian ? 8 * (bytes - 1 - i) : 8 * i;
    out.u8(static_cast<uint8_t>(v >> shift));
  }
}

void TightEncoder::write_basic_data(rfb::ByteBuffer& out, int stream, std::span<const uint8_t> data,
                                    int zlib_level, int strategy) {
  // rfbproto.rst "BasicCompression": under 12 bytes the data goes as is and the stream is unused.
  if (data.size() < tight::kMinToCompress) {
    out.append(data);
    return;
  }
  const size_t at = out.size();
  out.zeros(3);
  streams_[static_cast<size_t>(stream)].compress(data, out, zlib_level, nullptr, strategy);
  finish_compact_length(out, at);
}

void TightEncoder::compress_lazy(rfb::ByteBuffer& out, int stream, std::span<const uint8_t> data,
                                 size_t stride, int max_chain) {
  // rfbproto.rst "BasicCompression": under 12 bytes the data goes as is and the stream is unused.
  if (data.size() < tight::kMinToCompress) {
    out.append(data);
    return;
  }
  const size_t at = out.size();
  out.zeros(3);
  streams_[static_cast<size_t>(stream)].compress_lazy(data, stride, max_chain, out);
  finish_compact_length(out, at);
}

void TightEncoder::encode(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
                          rfb::ByteBuffer& out) {
  assert(pixels.width > 0 && pixels.width <= tight::kMaxWidth && pixels.height > 0);
  assert(pixels.format.true_colour);
  const int level = ctx.settings.compress_level >= 0 && ctx.settings.compress_level <= 9
                        ? ctx.settings.compress_level
                        : kDefaultCompressLevel;

  // NOTE1: the reset bits ride on this rectangle whatever its compression method.
  last_method_ = Method::kNone;
  const uint8_t control = pending_resets_;
  for (size_t i = 0; i < streams_.size(); ++i)
    if (pending_resets_ & (1u << i)) streams_[i].reset();
  pending_resets_ = 0;

  const rfb::PixelFormat& client = ctx.client_format;
  const size_t area = static_cast<size_t>(pixels.width) * static_cast<size_t>(pixels.height);
  // Options set on the encoder directly win over the client's pseudo-encodings.
  tight::JpegOptions options = tight::jpeg_options(ctx.settings);
  if (jpeg_options_.fine_quality >= 0) options.fine_quality = jpeg_options_.fine_quality;
  if (jpeg_options_.subsampling) options.subsampling = jpeg_options_.subsampling;
  const tight::JpegParams jpeg =
      tight::capped(tight::jpeg_params(ctx.settings, options), ctx.settings);
  // rfbproto.rst: JpegCompression only at 16 or 32 bpp (and a true-colour client can show it).
  const bool jpeg_ok = jpeg.enabled && ctx.settings.allow_lossy && client.true_colour &&
                       client.bpp >= 16 && area >= static_cast<size_t>(kJpegMinArea);

  // How many colours make a palette worth it: at 8 bpp an index costs what a pixel does, so only
  // fill and mono pay; with JPEG available, photo-like blocks should go to JPEG early (TurboVNC's
  // 24/96); otherwise a palette pays while it is small against the area.
  int max_colours;
  if (client.bpp == 8)
    max_colours = 2;
  else if (jpeg_ok)
    max_colours = level < 2 ? 24 : 96;
  else
    max_colours = static_cast<int>(std::clamp<size_t>(area / 4, 2, Palette::kMaxColours));

  // The indexes come with the palette, in the same pass; a photo gives up within a few rows.
  indexes_.clear();
  const bool complete =
      build_palette_indexes(pixels, max_colours, palette_, indexes_.grow_for_overwrite(area));
  if (complete && palette_.size() == 1) {
    // rfbproto.rst "FillCompression": one TPIXEL.
    out.u8(control | tight::kFill);
    write_tpixel(out, ctx, palette_.colour(0));
    last_method_ = Method::kFill;
    return;
  }
  if (complete) {
    encode_palette(pixels, ctx, control, level, out);
    return;
  }
  if (jpeg_ok && encode_jpeg(pixels, control, jpeg, out)) return;
  encode_full_colour(pixels, ctx, control, level, out);
}

void TightEncoder::encode_palette(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
                                  uint8_t control, int level, rfb::ByteBuffer& out) {
  // rfbproto.rst "PaletteFilter": count-1, TPIXELs, then 1-bit rows (2 colours) or 8-bit indexes.
  const int n = palette_.size();
  const bool mono = n == 2;
  const int stream = stream_for(mono ? tight::kStreamMono : tight::kStreamIndexed);
  out.u8(static_cast<uint8_t>(control | (stream << 4) | tight::kReadFilterId));
  out.u8(tight::kFilterPalette);
  out.u8(static_cast<uint8_t>(n - 1));
  for (int i = 0; i < n; ++i) write_tpixel(out, ctx, palette_.colour(i));

  const int w = pixels.width, h = pixels.height;
  if (mono) {
    // The indexes are 0 and 1: packed, they are the bits.
    filtered_.resize(static_cast<size_t>(h) * ((static_cast<size_t>(w) + 7) / 8));
    pack_bits(indexes_.data(), w, h, filtered_.data());
    if (kLazyChain[level] > 0)
      compress_lazy(out, stream, filtered_, (static_cast<size_t>(w) + 7) / 8, kMonoChain);
    else
      write_basic_data(out, stream, filtered_, kZlibLevels[level].mono);
    last_method_ = Method::kMono;
    return;
  }
  if (kLazyChain[level] > 0)
    compress_lazy(out, stream, indexes_.span(), static_cast<size_t>(w), kLazyChain[level]);
  else
    write_basic_data(out, stream, indexes_.span(), kZlibLevels[level].indexed);
  last_method_ = Method::kIndexed;
}

bool TightEncoder::encode_jpeg(const rfb::PixelView& pixels, uint8_t control,
                               const tight::JpegParams& params, rfb::ByteBuffer& out) {
  // rfbproto.rst "JpegCompression": compact length, then the JFIF stream.
  const size_t start = out.size();
  out.u8(control | tight::kJpeg);
  const size_t at = out.size();
  out.zeros(3);
  if (!jpeg_.compress(pixels, params.quality, params.subsampling, out)) {
    out.truncate(start);  // Fall back to a lossless method; the reset bits go with it.
    return false;
  }
  finish_compact_length(out, at);
  last_method_ = Method::kJpeg;
  return true;
}

void TightEncoder::convert_to_rgbx(const rfb::PixelView& pixels) {
  if (!to_rgbx_ || to_rgbx_->source() != pixels.format) {
    rfb::PixelFormat rgbx = rfb::PixelFormat::rgb888();
    rgbx.big_endian = false;
    rgbx.red_shift = 0;
    rgbx.green_shift = 8;
    rgbx.blue_shift = 16;
    to_rgbx_ = std::make_unique<rfb::PixelConverter>(pixels.format, rgbx);
  }
  const size_t stride = static_cast<size_t>(pixels.width) * 4;
  rgbx_.resize(stride * static_cast<size_t>(pixels.height));
  to_rgbx_->convert(pixels.data, pixels.stride, rgbx_.data(), stride, pixels.width, pixels.height);
}

void TightEncoder::encode_full_colour(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
                                      uint8_t control, int level, rfb::ByteBuffer& out) {
  const int w = pixels.width, h = pixels.height;
  const size_t area = static_cast<size_t>(w) * static_cast<size_t>(h);
  const int zlib_level = kZlibLevels[level].raw;
  // Incompressible pixels (noise, photos the gradient filter does not suit) cost deflate's full
  // match search for a few per cent: Huffman coding alone gets those at a fraction of the CPU.
  auto copy_strategy = [](std::span<const uint8_t> data) {
    return data.size() >= kMinSampledBytes && sampled_deflate_ratio(data) > kIncompressibleRatio
               ? Z_HUFFMAN_ONLY
               : Z_DEFAULT_STRATEGY;
  };
  if (!tight::uses_rgb24(ctx.client_format)) {
    // CopyFilter with TPIXEL = the client's pixel, in its byte order.
    const size_t bpp = static_cast<size_t>(ctx.client_format.bytes_per_pixel());
    filtered_.resize(area * bpp);
    ctx.converter.convert(pixels.data, pixels.stride, filtered_.data(),
                          static_cast<size_t>(w) * bpp, w, h);
    out.u8(static_cast<uint8_t>(control | (stream_for(tight::kStreamCopy) << 4)));
    write_basic_data(out, stream_for(tight::kStreamCopy), filtered_, zlib_level,
                     copy_strategy(filtered_));
    last_method_ = Method::kCopy;
    return;
  }
  // 8-bit channels: TPIXEL is R, G, B whatever the client's shifts, so work from R, G, B, X.
  convert_to_rgbx(pixels);
  const size_t stride = static_cast<size_t>(w) * 4;
  filtered_.resize(area * 3);
  if (tight::prefers_gradient(rgbx_.data(), stride, w, h)) {
    tight::gradient_filter_rgb24(rgbx_.data(), stride, w, h, filtered_.data());
    const int stream = stream_for(tight::kStreamGradient);
    out.u8(static_cast<uint8_t>(control | (stream << 4) | tight::kReadFilterId));
    out.u8(tight::kFilterGradient);
    // Photo-like residuals have few repeats for deflate's match search to find (prefers_gradient
    // checked): Huffman coding alone keeps most of the gain at about half the CPU. Blocks that
    // fit in deflate's window keep the match search: they may repeat an earlier rectangle.
    write_basic_data(out, stream, filtered_, zlib_level,
                     filtered_.size() >= kMinSampledBytes ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY);
    last_method_ = Method::kGradient;
    return;
  }
  const uint8_t* src = rgbx_.data();
  uint8_t* dst = filtered_.data();
  for (size_t i = 0; i < area; ++i, src += 4, dst += 3) {
    dst[0] = src[0];
    dst[1] = src[1];
    dst[2] = src[2];
  }
  out.u8(static_cast<uint8_t>(control | (stream_for(tight::kStreamCopy) << 4)));
  write_basic_data(out, stream_for(tight::kStreamCopy), filtered_, zlib_level,
                   copy_strategy(filtered_));
  last_method_ = Method::kCopy;
}

}  // namespace vncd::enc
