// TightEncoder: the Tight encoding (rfbproto.rst "Tight Encoding") with fill, mono and indexed
// palettes, copy and gradient filters over four zlib streams kept across updates, and JPEG.
// Made per connection; one thread at a time. Building blocks are free functions for tests.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "encodings/jpeg_compressor.h"
#include "encodings/palette.h"
#include "encodings/zlib_stream.h"
#include "rfb/encoder.h"

namespace vncd::enc {

namespace tight {

// Pseudo-encodings that tune Tight's JPEG (rfbproto.rst "JPEG Fine-Grained Quality Level" and
// "JPEG Subsampling Level"); candidates for rfb::encoding.

// rfbproto.rst "Tight Encoding".
inline constexpr int kMaxWidth = 2048;                // The spec's limit on a rectangle's width.
inline constexpr size_t kMinToCompress = 12;          // Shorter filtered data is sent as is.
inline constexpr size_t kMaxCompactLength = 4194303;  // 22 bits in 1-3 bytes.
inline constexpr uint8_t kFill = 0x80;                // compression-control, bits 7-4 = 1000
inline constexpr uint8_t kJpeg = 0x90;                //                                 1001
inline constexpr uint8_t kReadFilterId = 0x40;  // Basic compression: a filter-id byte follows.
inline constexpr uint8_t kFilterCopy = 0, kFilterPalette = 1, kFilterGradient = 2;
// Stream ids this encoder uses per kind of data (any mapping is valid; TightVNC's).
inline constexpr int kStreamCopy = 0, kStreamMono = 1, kStreamIndexed = 2, kStreamGradient = 3;

// Appends `length` (<= kMaxCompactLength) in Tight's compact form: 7 bits per byte with a
// continuation bit, the third byte carrying 8 bits.
void write_compact_length(rfb::ByteBuffer& out, size_t length);
// Bytes write_compact_length() uses for `length`: 1, 2 or 3.
size_t compact_length_size(size_t length);

// True when TPIXEL is 3 bytes R, G, B for `pf`: true colour, 32 bpp, depth 24, every channel
// exactly 8 bits (any shifts and byte order).
bool uses_rgb24(const rfb::PixelFormat& pf);

// The GradientFilter on 8-bit channels: `rgbx` holds w x h pixels as R, G, B, X bytes (rows
// `stride` bytes apart); writes w * h * 3 difference bytes (R, G, B) to `out`.
void gradient_filter_rgb24(const uint8_t* rgbx, size_t stride, int w, int h, uint8_t* out);
// Whether the gradient filter is likely to compress `rgbx` better than the copy filter: smooth,
// photo-like content without many exact repeats (flat areas deflate better unfiltered).
bool prefers_gradient(const uint8_t* rgbx, size_t stride, int w, int h);
// Packs palette indexes (0 or 1, w per row, rows `index_stride` apart) into 1 bit per pixel,
// most significant bit leftmost, each row padded to a byte; writes h * ((w + 7) / 8) bytes.
void pack_mono(const uint8_t* indexes, size_t index_stride, int w, int h, uint8_t* out);

// What the TurboVNC pseudo-encodings asked for; unset fields defer to the QualityLevel table.
struct JpegOptions {
  int fine_quality = -1;  // 0..100 (0 is sent as TurboJPEG's lowest, 1).
  std::optional<JpegSubsampling> subsampling;
};
// The options the client's fine-grained pseudo-encodings asked for (parsed into EncodeSettings by
// the planner). 8X and 16X map to 4X, the coarsest TurboJPEG offers.
JpegOptions jpeg_options(const rfb::EncodeSettings& settings);

struct JpegParams {
  bool enabled = false;  // Only when the client sent a JPEG Quality Level (the spec's rule).
  int quality = 0;
  JpegSubsampling subsampling = JpegSubsampling::k1X;
};
// QualityLevel 0..9 -> JPEG quality {15,29,41,42,62,77,79,86,92,100} and subsampling 4X for
// 0-2, 2X for 3-5, 1X for 6-9 (TigerVNC's table); fine-grained options override either.
JpegParams jpeg_params(const rfb::EncodeSettings& settings, const JpegOptions& options);
// `params` limited by the planner's cap in `settings` (jpeg_quality_cap, jpeg_subsampling_cap):
// never more quality, never finer subsampling than either asks.
JpegParams capped(const JpegParams& params, const rfb::EncodeSettings& settings);

}  // namespace tight

class TightEncoder final : public rfb::Encoder {
 public:
  // 2048 x 64 pixels at most per rectangle: 2048 is the spec's width limit; the height keeps
  // the worst-case data (incompressible 32-bit pixels, a 4:4:4 JPEG at quality 100) well inside
  // the 22-bit compact length, and rectangles small enough for palettes to be found locally.
  static constexpr int kMaxHeight = 64;
  // Rectangles smaller than this are never sent as JPEG: its headers alone cost ~600 bytes.
  static constexpr int kJpegMinArea = 1024;
  // Compression level used when the client sent none (TigerVNC's default).
  static constexpr int kDefaultCompressLevel = 2;
  // Copy-filter data whose sampled level-1 deflate ratio is above this goes Huffman-only
  // (zlib_stream.h sampled_deflate_ratio), and so does gradient-filtered data; both only from
  // kMinSampledBytes on: smaller blocks fit in deflate's 32 KiB window, where a repeat of an
  // earlier rectangle is worth the match search (and the sample cannot tell).
  static constexpr double kIncompressibleRatio = 0.8;
  static constexpr size_t kMinSampledBytes = 32 * 1024;

  enum class Method : uint8_t { kNone, kFill, kMono, kIndexed, kCopy, kGradient, kJpeg };

  TightEncoder();
  ~TightEncoder() override;

  int32_t encoding() const override { return rfb::encoding::kTight; }
  // Native pixels in: JPEG compresses the captured colours; the lossless paths convert what they
  // emit with ctx.converter. Lossy when JPEG is enabled.
  rfb::EncoderTraits traits() const override;
  void encode(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
              rfb::ByteBuffer& out) override;

  // The TurboVNC fine-grained quality and subsampling (until rfb::EncodeSettings carries them).
  void set_jpeg_options(const tight::JpegOptions& options) { jpeg_options_ = options; }
  const tight::JpegOptions& jpeg_options() const { return jpeg_options_; }

  // Starts all four zlib streams afresh; the next rectangle tells the client to do the same
  // (compression-control bits 0-3). Needed whenever encoded output is discarded unsent, since
  // the client's dictionaries would no longer match ours.
  // As one lane of several, only the lane's own streams (stream_for) are this instance's to reset.
  void reset_streams() { pending_resets_ = own_streams(lane_, lanes_); }

  bool last_was_lossy() const override { return last_method_ == Method::kJpeg; }
  // k == 1 uses the four streams by kind of data (TightVNC's mapping). Lane i of 2 has streams
  // 2i (palette indexes) and 2i + 1 (everything else): indexes and 1-bit rows keep apart, so
  // that a kind's recent blocks stay in its stream's 32 KiB window (sharing 2i, a repeated
  // full frame's 1-bit rows cost 3% more bytes and 2.5% more instructions, callgrind). At levels
  // 1 to 3 palette data goes through compress_lazy() and full-colour data through zlib, which
  // re-primes its dictionary (32 KiB hashed) when it follows a lazy block on 2i + 1; with JPEG
  // allowed, JPEG takes the full-colour blocks. Lane i of 3 or 4 sends all through stream i.
  // A change resets the streams the instance will use.
  void set_lane(int lane, int lanes) override;
  int stream_for(int kind) const {
    if (lanes_ == 1) return kind;
    if (lanes_ == 2) return 2 * lane_ + (kind == tight::kStreamIndexed ? 0 : 1);
    return lane_;
  }

  // How the last rectangle was encoded (tests and benchmarks).
  Method last_method() const { return last_method_; }

 private:
  // One compressed or raw block of filtered data (rfbproto.rst "BasicCompression").
  void write_basic_data(rfb::ByteBuffer& out, int stream, std::span<const uint8_t> data,
                        int zlib_level, int strategy = Z_DEFAULT_STRATEGY);
  // write_basic_data() through ZlibStream::compress_lazy() at `max_chain` (palette data at the
  // levels kLazyChain names).
  void compress_lazy(rfb::ByteBuffer& out, int stream, std::span<const uint8_t> data, size_t stride,
                     int max_chain);
  void write_tpixel(rfb::ByteBuffer& out, const rfb::EncodeContext& ctx, uint32_t native) const;
  void encode_palette(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx, uint8_t control,
                      int level, rfb::ByteBuffer& out);
  bool encode_jpeg(const rfb::PixelView& pixels, uint8_t control, const tight::JpegParams& params,
                   rfb::ByteBuffer& out);
  void encode_full_colour(const rfb::PixelView& pixels, const rfb::EncodeContext& ctx,
                          uint8_t control, int level, rfb::ByteBuffer& out);
  // Native pixels as R, G, B, X bytes in rgbx_ (for TPIXEL-24 data and the gradient filter).
  void convert_to_rgbx(const rfb::PixelView& pixels);

  std::array<ZlibStream, 4> streams_;
  uint8_t pending_resets_ = 0;
  int lane_ = 0;
  int lanes_ = 1;
  // Bit per stream (compression-control bits 0-3) that lane `lane` of `lanes` uses.
  static uint8_t own_streams(int lane, int lanes) {
    if (lanes == 1) return 0x0f;
    if (lanes == 2) return static_cast<uint8_t>(0x3u << (2 * lane));
    return static_cast<uint8_t>(1u << lane);
  }
  tight::JpegOptions jpeg_options_;
  JpegCompressor jpeg_;
  Palette palette_;
  std::unique_ptr<rfb::PixelConverter> to_rgbx_;
  std::vector<uint8_t> rgbx_;      // Converted pixels.
  rfb::ByteBuffer indexes_;        // Palette index per pixel, w per row (never zero-filled).
  std::vector<uint8_t> filtered_;  // Filter output before compression.
  Method last_method_ = Method::kNone;
};

}  // namespace vncd::enc
