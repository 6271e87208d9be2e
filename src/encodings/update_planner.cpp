#include "encodings/update_planner.h"

#include <algorithm>

#include "rfb/messages.h"

namespace vncd::enc {
namespace {

// A FramebufferUpdate carries a U16 rectangle count; regions more fragmented than this are sent
// as their bounding box instead (rare: pixman keeps regions as y-x bands).
constexpr size_t kMaxRectsPerUpdate = 4096;

}  // namespace

UpdatePlanner::UpdatePlanner(const EncoderRegistry& registry) : registry_(registry) {
  encoder_ = registry_.create(rfb::encoding::kRaw);
}

UpdatePlanner::~UpdatePlanner() = default;

void UpdatePlanner::set_encodings(std::span<const int32_t> encodings) {
  client_encodings_.assign(encodings.begin(), encodings.end());
  settings_ = {};
  int32_t chosen = rfb::encoding::kRaw;
  bool found = false;
  for (int32_t e : encodings) {
    // rfbproto.rst "Compression Level" / "JPEG Quality Level" pseudo-encodings.
    if (e >= rfb::encoding::kCompressLevel0 && e <= rfb::encoding::kCompressLevel0 + 9)
      settings_.compress_level = e - rfb::encoding::kCompressLevel0;
    else if (e >= rfb::encoding::kQualityLevel0 && e <= rfb::encoding::kQualityLevel0 + 9)
      settings_.quality_level = e - rfb::encoding::kQualityLevel0;
    // CopyRect is chosen per region by content, never as the encoding for ordinary pixels.
    else if (!found && e != rfb::encoding::kCopyRect && registry_.supports(e)) {
      chosen = e;
      found = true;
    }
  }
  if (chosen != preferred_ || !encoder_) {
    preferred_ = chosen;
    encoder_ = registry_.create(chosen);
  }
}

void UpdatePlanner::set_formats(const rfb::PixelFormat& native, const rfb::PixelFormat& client) {
  if (converter_ && native == native_ && client == client_) return;
  native_ = native;
  client_ = client;
  converter_ = std::make_unique<rfb::PixelConverter>(native, client);
}

bool UpdatePlanner::client_supports(int32_t encoding) const {
  return std::find(client_encodings_.begin(), client_encodings_.end(), encoding) !=
         client_encodings_.end();
}

size_t UpdatePlanner::write_update(const rfb::Frame& frame, const UpdateContent& content,
                                   rfb::ByteBuffer& out) {
  if (!converter_) set_formats(frame.format(), frame.format());
  const rfb::Rect screen{0, 0, frame.size().width, frame.size().height};

  std::vector<rfb::Rect> rects = content.changed.intersected(screen).rects();
  if (rects.size() > kMaxRectsPerUpdate) rects = {content.changed.intersected(screen).bounds()};

  // Split to the encoder's limits.
  const rfb::EncoderTraits traits = encoder_->traits();
  const int max_w = traits.max_width > 0 ? traits.max_width : 65535;
  const int max_h = traits.max_height > 0 ? traits.max_height : 65535;
  std::vector<rfb::Rect> pieces;
  pieces.reserve(rects.size());
  for (const rfb::Rect& r : rects)
    for (int y = r.y; y < r.bottom(); y += max_h)
      for (int x = r.x; x < r.right(); x += max_w)
        pieces.push_back(
            rfb::Rect{x, y, std::min(max_w, r.right() - x), std::min(max_h, r.bottom() - y)});

  const size_t count = pieces.size() + (content.resize ? 1 : 0);
  rfb::write_framebuffer_update_header(out, static_cast<uint16_t>(count));
  if (content.resize) {
    // rfbproto.rst "DesktopSize Pseudo-encoding": the new size in the rectangle's w and h.
    rfb::write_rect_header(out, rfb::Rect{0, 0, content.resize->width, content.resize->height},
                           rfb::encoding::kDesktopSize);
  }

  const rfb::EncodeContext ctx{client_, *converter_, settings_};
  const size_t bpp = static_cast<size_t>(client_.bytes_per_pixel());
  for (const rfb::Rect& r : pieces) {
    rfb::write_rect_header(out, r, encoder_->encoding());
    const rfb::PixelView src = frame.view(r);
    if (traits.input == rfb::EncoderTraits::Input::kNativeFormat) {
      encoder_->encode(src, ctx, out);
      continue;
    }
    const size_t stride = static_cast<size_t>(r.w) * bpp;
    scratch_.resize(stride * static_cast<size_t>(r.h));
    converter_->convert(src.data, src.stride, scratch_.data(), stride, r.w, r.h);
    encoder_->encode(rfb::PixelView{scratch_.data(), stride, r.w, r.h, client_}, ctx, out);
  }
  return count;
}

}  // namespace vncd::enc
