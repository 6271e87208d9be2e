// Fuzz target: random pixels, rectangle sizes (1x1, odd, wider than a tile) and valid random
// client pixel formats through each lossless encoder, directly and through the update planner;
// the spec-written reference decoder must reproduce the colour bits of every pixel (traps if not).
//
// Input: a 16-byte header (encoding, path, format, size, compression level, colour count, update
// shapes), then the bytes pixels are made from (cycled when short).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "encodings/registry.h"
#include "encodings/update_planner.h"
#include "fuzz_pixel_format.h"
#include "rfb/encoder.h"
#include "rfb/frame.h"
#include "rfb/pixel_converter.h"
#include "rfb/pixel_format.h"
#include "rfb/task_runner.h"
#include "rfb/wire.h"
#include "support/pixel_reference.h"
#include "support/reference_decoder.h"

namespace {

using vncd::rfb::PixelFormat;

constexpr int32_t kEncodings[] = {
    vncd::rfb::encoding::kRaw,     vncd::rfb::encoding::kRRE,  vncd::rfb::encoding::kCoRRE,
    vncd::rfb::encoding::kHextile, vncd::rfb::encoding::kZlib, vncd::rfb::encoding::kTight,
    vncd::rfb::encoding::kTRLE,    vncd::rfb::encoding::kZRLE,
};
constexpr size_t kHeader = 16;
constexpr int kMaxWidth = 300;  // Wider than Tight's and CoRRE's rectangles, several ZRLE tiles.
constexpr int kMaxHeight = 120;

[[noreturn]] void mismatch() {
  __builtin_trap();
}

// Reads the input byte by byte; past the end it yields a deterministic cycle of what there was.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t next() {
    if (size_ == 0) return static_cast<uint8_t>(pos_++ * 131u + 7u);
    const uint8_t b = data_[pos_ % size_];
    // After one pass, vary the cycle so long images do not repeat with a short period only.
    const uint8_t v = pos_ < size_ ? b : static_cast<uint8_t>(b + pos_ / size_ * 37u);
    ++pos_;
    return v;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Bits of a pixel value that carry colour (all of them for a colour map).
uint32_t colour_mask(const PixelFormat& pf) {
  if (!pf.true_colour) return 0xFF;
  return (uint32_t{pf.red_max} << pf.red_shift) | (uint32_t{pf.green_max} << pf.green_shift) |
         (uint32_t{pf.blue_max} << pf.blue_shift);
}

// Traps unless `got` (a decoded w x h framebuffer, packed rows) has `want`'s colour bits.
void check_same(const uint8_t* want, size_t want_stride, const std::vector<uint8_t>& got,
                const PixelFormat& pf, int w, int h) {
  const uint32_t mask = colour_mask(pf);
  const size_t bpp = static_cast<size_t>(pf.bytes_per_pixel());
  const size_t row = bpp * static_cast<size_t>(w);
  for (int y = 0; y < h; ++y) {
    const uint8_t* a = want + want_stride * static_cast<size_t>(y);
    const uint8_t* b = got.data() + row * static_cast<size_t>(y);
    for (int x = 0; x < w; ++x) {
      const size_t off = bpp * static_cast<size_t>(x);
      const uint32_t pa = vncd::test::ref_load_pixel(a + off, pf);
      const uint32_t pb = vncd::test::ref_load_pixel(b + off, pf);
      if ((pa ^ pb) & mask) mismatch();
    }
  }
}

// Fills w x h pixels of `bpp_bytes` each: either straight from the input, or (colours > 0) from a
// palette of that many input-chosen pixels, so fill, mono, palette and run paths are all reached.
std::vector<uint8_t> make_pixels(Bytes& in, int w, int h, size_t bpp_bytes, int colours) {
  const size_t n = static_cast<size_t>(w) * static_cast<size_t>(h);
  std::vector<uint8_t> out(n * bpp_bytes);
  if (colours <= 0) {
    for (auto& b : out) b = in.next();
    return out;
  }
  std::vector<uint8_t> palette(static_cast<size_t>(colours) * bpp_bytes);
  for (auto& b : palette) b = in.next();
  size_t i = 0;
  while (i < n) {
    // Runs of one colour, as on a desktop.
    const uint8_t choice = in.next();
    const size_t run = 1 + (in.next() & 0x1F);
    const size_t c = choice % static_cast<size_t>(colours);
    for (size_t k = 0; k < run && i < n; ++k, ++i)
      std::memcpy(out.data() + i * bpp_bytes, palette.data() + c * bpp_bytes, bpp_bytes);
  }
  return out;
}

// Two rectangles through one encoder object and one reference decoder (state across rectangles).
void direct(int32_t encoding, const PixelFormat& client, const vncd::rfb::EncodeSettings& settings,
            int w, int h, int colours, Bytes& in) {
  const vncd::enc::EncoderRegistry registry = vncd::enc::EncoderRegistry::builtin();
  std::unique_ptr<vncd::rfb::Encoder> encoder = registry.create(encoding);
  if (!encoder) return;
  const vncd::rfb::EncoderTraits traits = encoder->traits();
  if (traits.max_width > 0) w = std::min(w, traits.max_width);
  if (traits.max_height > 0) h = std::min(h, traits.max_height);
  const PixelFormat native = PixelFormat::rgb888();
  const vncd::rfb::PixelConverter converter(native, client);
  const vncd::rfb::EncodeContext ctx{client, converter, settings};
  std::unique_ptr<vncd::test::ReferenceDecoder> decoder =
      vncd::test::make_reference_decoder(encoding);
  if (!decoder) mismatch();
  vncd::test::ClientFramebuffer fb(w, h, client);

  for (int round = 0; round < 2; ++round) {
    // The second rectangle is a sub-rectangle, so stream state meets a different shape.
    const int rw = round == 0 ? w : 1 + in.next() % w;
    const int rh = round == 0 ? h : 1 + in.next() % h;
    const bool native_in = traits.input == vncd::rfb::EncoderTraits::Input::kNativeFormat;
    const PixelFormat& in_format = native_in ? native : client;
    const size_t in_bpp = static_cast<size_t>(in_format.bytes_per_pixel());
    const std::vector<uint8_t> pixels = make_pixels(in, rw, rh, in_bpp, colours);
    const vncd::rfb::PixelView view{pixels.data(), in_bpp * static_cast<size_t>(rw), rw, rh,
                                    in_format};
    vncd::rfb::ByteBuffer out;
    encoder->encode(view, ctx, out);

    vncd::rfb::Reader reader(std::span<const uint8_t>(out.data(), out.size()));
    if (!decoder->decode(reader, vncd::rfb::Rect{0, 0, rw, rh}, fb)) mismatch();
    if (reader.remaining() != 0) mismatch();

    std::vector<uint8_t> want;
    const size_t client_row =
        static_cast<size_t>(client.bytes_per_pixel()) * static_cast<size_t>(rw);
    if (native_in) {
      want.resize(client_row * static_cast<size_t>(rh));
      converter.convert(pixels.data(), view.stride, want.data(), client_row, rw, rh);
    } else {
      want = pixels;
    }
    std::vector<uint8_t> got(client_row * static_cast<size_t>(rh));
    for (int y = 0; y < rh; ++y) std::memcpy(got.data() + client_row * y, fb.at(0, y), client_row);
    check_same(want.data(), client_row, got, client, rw, rh);
  }
}

// Claims several threads but runs the calls inline, last index first: drives the planner's lanes,
// bands and pigz-style deflate deterministically, and catches work that depends on call order.
class ReversedRunner final : public vncd::rfb::TaskRunner {
 public:
  explicit ReversedRunner(size_t n) : n_(n) {}
  size_t concurrency() const override { return n_; }
  void run(size_t count, const std::function<void(size_t)>& fn) override {
    for (size_t i = count; i-- > 0;) fn(i);
  }

 private:
  size_t n_;
};

// Two updates through the planner (solid-area extraction, splitting, encoder choice, CopyRect):
// the whole frame, then a scroll of part of it plus a changed rectangle. Bits 1-2 of `shape`
// pick a (simulated) thread count of 1..4.
void planned(int32_t encoding, const PixelFormat& client, int w, int h, int colours, uint8_t shape,
             uint8_t compress, Bytes& in) {
  const vncd::enc::EncoderRegistry registry = vncd::enc::EncoderRegistry::builtin();
  vncd::enc::UpdatePlanner planner(registry);
  ReversedRunner runner(1 + ((shape >> 1) & 3));
  planner.set_task_runner(&runner);
  std::vector<int32_t> encodings = {encoding};
  if (shape & 1) encodings.insert(encodings.begin(), vncd::rfb::encoding::kCopyRect);
  if (compress < 10) encodings.push_back(vncd::rfb::encoding::kCompressLevel0 + compress);
  planner.set_encodings(encodings);
  const PixelFormat native = PixelFormat::rgb888();
  planner.set_formats(native, client);

  vncd::rfb::Frame f1({w, h}, native);
  {
    const std::vector<uint8_t> px = make_pixels(in, w, h, 4, colours);
    std::memcpy(f1.mutable_data(), px.data(), px.size());
  }
  // Scroll: dst gets what was at src (inside the frame); then a changed block outside dst.
  const int cw = 1 + in.next() % w, ch = 1 + in.next() % h;
  const vncd::rfb::Rect dst{in.next() % (w - cw + 1), in.next() % (h - ch + 1), cw, ch};
  const int sx = in.next() % (w - cw + 1), sy = in.next() % (h - ch + 1);
  vncd::rfb::Frame f2 = f1;
  for (int y = 0; y < ch; ++y)
    std::memcpy(f2.mutable_row(dst.y + y) + dst.x * 4, f1.view().at(sx, sy + y),
                static_cast<size_t>(cw) * 4);
  const int mw = 1 + in.next() % w, mh = 1 + in.next() % h;
  const vncd::rfb::Rect changed{in.next() % (w - mw + 1), in.next() % (h - mh + 1), mw, mh};
  {
    const std::vector<uint8_t> px = make_pixels(in, mw, mh, 4, colours);
    for (int y = 0; y < mh; ++y)
      for (int x = 0; x < mw; ++x)
        if (!dst.contains(vncd::rfb::Rect{changed.x + x, changed.y + y, 1, 1}))
          std::memcpy(f2.mutable_row(changed.y + y) + (changed.x + x) * 4,
                      px.data() + (static_cast<size_t>(y) * mw + x) * 4, 4);
  }

  vncd::test::ReferenceClient ref(w, h, client);
  vncd::rfb::ByteBuffer out;
  planner.write_update(f1, {vncd::rfb::Region(vncd::rfb::Rect{0, 0, w, h}), {}, {}}, out);
  vncd::enc::UpdateContent second;
  second.changed = vncd::rfb::Region(changed);
  second.copies.push_back(vncd::enc::CopyOp{dst, sx, sy});
  planner.write_update(f2, second, out);
  vncd::rfb::Reader reader(std::span<const uint8_t>(out.data(), out.size()));
  for (int u = 0; u < 2; ++u)
    if (!ref.decode_update(reader)) mismatch();
  if (reader.remaining() != 0) mismatch();

  const size_t client_row = static_cast<size_t>(client.bytes_per_pixel()) * static_cast<size_t>(w);
  std::vector<uint8_t> want(client_row * static_cast<size_t>(h));
  vncd::rfb::PixelConverter(native, client)
      .convert(f2.data(), f2.stride(), want.data(), client_row, w, h);
  check_same(want.data(), client_row, ref.fb.pixels, client, w, h);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader) return 0;
  const uint8_t* h = data;
  PixelFormat client;
  if (!vncd::fuzz::make_format(std::span<const uint8_t, 6>(h + 2, 6), client)) return 0;
  const int32_t encoding = kEncodings[h[0] % std::size(kEncodings)];
  const int w = 1 + (h[8] | (h[9] << 8)) % kMaxWidth;
  const int hh = 1 + h[10] % kMaxHeight;
  const uint8_t compress = static_cast<uint8_t>(h[11] % 11);  // 10: no CompressLevel.
  // 0: every pixel from the input; 1..: a palette of 1, 2, 3, 4, 7, 16, 17, 200 colours.
  static constexpr int kColours[9] = {0, 1, 2, 3, 4, 7, 16, 17, 200};
  const int colours = kColours[h[12] % 9];
  Bytes in(data + kHeader, size - kHeader);

  if (h[1] & 1) {
    planned(encoding, client, w, hh, colours, h[13], compress, in);
  } else {
    vncd::rfb::EncodeSettings settings;  // Lossless: no quality level, so no JPEG.
    settings.compress_level = compress < 10 ? compress : -1;
    direct(encoding, client, settings, w, hh, colours, in);
  }
  return 0;
}
