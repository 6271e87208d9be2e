// Reference Tight decoder (rfbproto.rst "Tight Encoding"), written from the spec alone: four
// inflate streams with resets, FillCompression, JpegCompression (TurboJPEG), BasicCompression
// with and without zlib, and the copy, palette and gradient filters.
#include <turbojpeg.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "support/pixel_reference.h"
#include "support/reference_decoders.h"

namespace vncd::test {
namespace {

constexpr int kMaxWidth = 2048;  // "the width of any Tight-encoded rectangle cannot exceed 2048"
constexpr size_t kMinToCompress = 12;

class Inflater {
 public:
  Inflater() = default;
  ~Inflater() { end(); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  void reset() { end(); }

  // Inflates all of `in` and requires exactly `out_size` bytes out of it.
  Status inflate_exact(std::span<const uint8_t> in, uint8_t* out, size_t out_size) {
    if (!z_) {
      z_ = std::make_unique<z_stream>();
      std::memset(z_.get(), 0, sizeof(z_stream));
      if (inflateInit(z_.get()) != Z_OK) {
        z_.reset();
        return Error("Tight: inflateInit failed");
      }
    }
    z_->next_in = const_cast<Bytef*>(in.data());
    z_->avail_in = static_cast<uInt>(in.size());
    z_->next_out = out;
    z_->avail_out = static_cast<uInt>(out_size);
    while (z_->avail_out > 0) {
      const int rc = inflate(z_.get(), Z_SYNC_FLUSH);
      if (rc == Z_BUF_ERROR && z_->avail_in == 0) break;
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        return Error("Tight: corrupt zlib data");
      if (rc == Z_STREAM_END || rc == Z_BUF_ERROR) break;
    }
    if (z_->avail_out != 0) return Error("Tight: zlib data shorter than the rectangle");
    // Whatever follows must be flush padding only (no more pixel data).
    if (z_->avail_in != 0) {
      uint8_t extra;
      z_->next_out = &extra;
      z_->avail_out = 1;
      const int rc = inflate(z_.get(), Z_SYNC_FLUSH);
      if (z_->avail_out == 0) return Error("Tight: zlib data longer than the rectangle");
      if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)
        return Error("Tight: corrupt zlib data");
      if (z_->avail_in != 0) return Error("Tight: unread zlib data");
    }
    return {};
  }

 private:
  void end() {
    if (z_) inflateEnd(z_.get());
    z_.reset();
  }
  std::unique_ptr<z_stream> z_;
};

struct TjDestroy {
  void operator()(void* h) const {
    if (h) tjDestroy(static_cast<tjhandle>(h));
  }
};

bool is_tpixel24(const rfb::PixelFormat& pf) {
  return pf.true_colour && pf.bpp == 32 && pf.depth == 24 && pf.red_max == 255 &&
         pf.green_max == 255 && pf.blue_max == 255;
}

class TightDecoder : public ReferenceDecoder {
 public:
  Status decode(rfb::Reader& in, const rfb::Rect& r, ClientFramebuffer& fb) override {
    if (r.w <= 0 || r.h <= 0) return {};  // No data for an empty rectangle.
    if (r.w > kMaxWidth) return Error("Tight: rectangle wider than 2048");
    if (r.x < 0 || r.y < 0 || r.right() > fb.width || r.bottom() > fb.height)
      return Error("Tight: rectangle outside the framebuffer");
    pf_ = fb.format;
    tpixel_size_ = is_tpixel24(pf_) ? 3 : static_cast<size_t>(pf_.bytes_per_pixel());

    if (!in.has(1)) return Error("Tight: missing compression-control");
    const uint8_t control = in.u8();
    for (int i = 0; i < 4; ++i)
      if (control & (1 << i)) streams_[static_cast<size_t>(i)].reset();
    const uint8_t method = control >> 4;
    if (method == 0x8) return decode_fill(in, r, fb);
    if (method == 0x9) return decode_jpeg(in, r, fb);
    if (method == 0xA || method == 0xE) return decode_basic(in, r, fb, -1, method == 0xE);
    if (method & 0x8) return Error("Tight: invalid compression-control " + std::to_string(control));
    return decode_basic(in, r, fb, method & 0x3, (method & 0x4) != 0);
  }

 private:
  // A TPIXEL as the client's pixel value.
  uint32_t tpixel(const uint8_t* p) const {
    if (tpixel_size_ == 3)
      return (uint32_t{p[0]} << pf_.red_shift) | (uint32_t{p[1]} << pf_.green_shift) |
             (uint32_t{p[2]} << pf_.blue_shift);
    return ref_load_pixel(p, pf_);
  }

  Status decode_fill(rfb::Reader& in, const rfb::Rect& r, ClientFramebuffer& fb) {
    if (!in.has(tpixel_size_)) return Error("Tight: short fill colour");
    const uint32_t v = tpixel(in.bytes(tpixel_size_).data());
    for (int y = 0; y < r.h; ++y)
      for (int x = 0; x < r.w; ++x) ref_store_pixel(fb.at(r.x + x, r.y + y), pf_, v);
    return {};
  }

  static Result<size_t> compact_length(rfb::Reader& in) {
    if (!in.has(1)) return Error("Tight: short compact length");
    uint32_t b = in.u8();
    size_t len = b & 0x7f;
    if (b & 0x80) {
      if (!in.has(1)) return Error("Tight: short compact length");
      b = in.u8();
      len |= static_cast<size_t>(b & 0x7f) << 7;
      if (b & 0x80) {
        if (!in.has(1)) return Error("Tight: short compact length");
        len |= static_cast<size_t>(in.u8()) << 14;
      }
    }
    return len;
  }

  Status decode_jpeg(rfb::Reader& in, const rfb::Rect& r, ClientFramebuffer& fb) {
    if (!pf_.true_colour || (pf_.bpp != 16 && pf_.bpp != 32))
      return Error("Tight: JPEG needs a 16 or 32 bpp true-colour client");
    Result<size_t> len = compact_length(in);
    if (!len) return len.error();
    if (!in.has(*len)) return Error("Tight: short JPEG data");
    auto data = in.bytes(*len);
    if (!tj_) tj_.reset(tjInitDecompress());
    if (!tj_) return Error("Tight: tjInitDecompress failed");
    int w = 0, h = 0, ss = 0, cs = 0;
    auto* jpeg = const_cast<unsigned char*>(data.data());
    if (tjDecompressHeader3(static_cast<tjhandle>(tj_.get()), jpeg, data.size(), &w, &h, &ss,
                            &cs) != 0)
      return Error("Tight: bad JPEG header");
    if (w != r.w || h != r.h) return Error("Tight: JPEG size differs from the rectangle");
    std::vector<uint8_t> rgb(static_cast<size_t>(w) * static_cast<size_t>(h) * 3);
    if (tjDecompress2(static_cast<tjhandle>(tj_.get()), jpeg, data.size(), rgb.data(), w, w * 3, h,
                      TJPF_RGB, 0) != 0)
      return Error("Tight: bad JPEG data");
    const rfb::PixelFormat& pf = pf_;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const uint8_t* p =
            &rgb[(static_cast<size_t>(y) * static_cast<size_t>(w) + static_cast<size_t>(x)) * 3];
        const uint32_t v = (ref_scale(p[0], 255, pf.red_max) << pf.red_shift) |
                           (ref_scale(p[1], 255, pf.green_max) << pf.green_shift) |
                           (ref_scale(p[2], 255, pf.blue_max) << pf.blue_shift);
        ref_store_pixel(fb.at(r.x + x, r.y + y), pf, v);
      }
    return {};
  }

  // stream < 0: BasicCompression Without Zlib.
  Status decode_basic(rfb::Reader& in, const rfb::Rect& r, ClientFramebuffer& fb, int stream,
                      bool has_filter) {
    uint8_t filter = 0;
    if (has_filter) {
      if (!in.has(1)) return Error("Tight: missing filter-id");
      filter = in.u8();
    }
    const size_t w = static_cast<size_t>(r.w), h = static_cast<size_t>(r.h);
    std::vector<uint32_t> palette;
    size_t data_size = w * h * tpixel_size_;
    if (filter == 1) {
      if (!in.has(1)) return Error("Tight: missing palette size");
      const size_t n = size_t{in.u8()} + 1;
      if (n < 2) return Error("Tight: palette of one colour");
      if (!in.has(n * tpixel_size_)) return Error("Tight: short palette");
      for (size_t i = 0; i < n; ++i) palette.push_back(tpixel(in.bytes(tpixel_size_).data()));
      data_size = n == 2 ? h * ((w + 7) / 8) : w * h;
    } else if (filter == 2) {
      if (pf_.bpp != 16 && pf_.bpp != 32) return Error("Tight: gradient filter below 16 bpp");
    } else if (filter != 0) {
      return Error("Tight: unknown filter " + std::to_string(filter));
    }

    std::vector<uint8_t> data(data_size);
    if (stream < 0 || data_size < kMinToCompress) {
      if (!in.has(data_size)) return Error("Tight: short raw data");
      std::memcpy(data.data(), in.bytes(data_size).data(), data_size);
    } else {
      Result<size_t> len = compact_length(in);
      if (!len) return len.error();
      if (!in.has(*len)) return Error("Tight: short zlib data");
      if (Status s = streams_[static_cast<size_t>(stream)].inflate_exact(in.bytes(*len),
                                                                         data.data(), data_size);
          !s)
        return s;
    }

    if (filter == 1) return draw_palette(data, palette, r, fb);
    if (filter == 2) return draw_gradient(data, r, fb);
    for (size_t y = 0; y < h; ++y)
      for (size_t x = 0; x < w; ++x)
        ref_store_pixel(fb.at(r.x + static_cast<int>(x), r.y + static_cast<int>(y)), pf_,
                        tpixel(&data[(y * w + x) * tpixel_size_]));
    return {};
  }

  Status draw_palette(const std::vector<uint8_t>& data, const std::vector<uint32_t>& palette,
                      const rfb::Rect& r, ClientFramebuffer& fb) {
    const size_t w = static_cast<size_t>(r.w);
    const size_t row_bytes = palette.size() == 2 ? (w + 7) / 8 : w;
    for (int y = 0; y < r.h; ++y) {
      const uint8_t* row = &data[static_cast<size_t>(y) * row_bytes];
      for (size_t x = 0; x < w; ++x) {
        const size_t index = palette.size() == 2 ? (row[x / 8] >> (7 - x % 8)) & 1 : row[x];
        if (index >= palette.size()) return Error("Tight: palette index out of range");
        ref_store_pixel(fb.at(r.x + static_cast<int>(x), r.y + y), pf_, palette[index]);
      }
    }
    return {};
  }

  Status draw_gradient(const std::vector<uint8_t>& data, const rfb::Rect& r,
                       ClientFramebuffer& fb) {
    // V = D + clamp(V[left] + V[above] - V[above-left], 0, MAX), per component, modulo MAX + 1.
    const size_t w = static_cast<size_t>(r.w);
    const uint32_t max[3] = {tpixel_size_ == 3 ? 255u : pf_.red_max,
                             tpixel_size_ == 3 ? 255u : pf_.green_max,
                             tpixel_size_ == 3 ? 255u : pf_.blue_max};
    const int shift[3] = {pf_.red_shift, pf_.green_shift, pf_.blue_shift};
    std::vector<int> prev(w * 3, 0), cur(w * 3, 0);
    for (int y = 0; y < r.h; ++y) {
      for (size_t x = 0; x < w; ++x) {
        const uint8_t* p = &data[(static_cast<size_t>(y) * w + x) * tpixel_size_];
        uint32_t d[3];
        if (tpixel_size_ == 3) {
          d[0] = p[0];
          d[1] = p[1];
          d[2] = p[2];
        } else {
          const uint32_t v = ref_load_pixel(p, pf_);
          for (int c = 0; c < 3; ++c) d[c] = v >> shift[c];
        }
        uint32_t out = 0;
        for (int c = 0; c < 3; ++c) {
          const int left = x > 0 ? cur[(x - 1) * 3 + static_cast<size_t>(c)] : 0;
          const int above = prev[x * 3 + static_cast<size_t>(c)];
          const int above_left = x > 0 ? prev[(x - 1) * 3 + static_cast<size_t>(c)] : 0;
          const int predicted = std::clamp(left + above - above_left, 0, static_cast<int>(max[c]));
          const uint32_t value = (d[c] + static_cast<uint32_t>(predicted)) & max[c];
          cur[x * 3 + static_cast<size_t>(c)] = static_cast<int>(value);
          out |= value << shift[c];
        }
        ref_store_pixel(fb.at(r.x + static_cast<int>(x), r.y + y), pf_, out);
      }
      std::swap(prev, cur);
    }
    return {};
  }

  std::array<Inflater, 4> streams_;
  std::unique_ptr<void, TjDestroy> tj_;
  rfb::PixelFormat pf_;
  size_t tpixel_size_ = 4;
};

}  // namespace

std::unique_ptr<ReferenceDecoder> make_tight_decoder() {
  return std::make_unique<TightDecoder>();
}

}  // namespace vncd::test
