#include "encodings/update_planner.h"

#include <algorithm>

#include "encodings/palette.h"
#include "rfb/messages.h"

namespace vncd::enc {
namespace {

// A FramebufferUpdate carries a U16 rectangle count; regions more fragmented than this are sent
// as their bounding box instead (rare: pixman keeps regions as y-x bands).
constexpr size_t kMaxRectsPerUpdate = 4096;

bool in_range(int32_t e, int32_t first, int32_t count) {
  return e >= first && e < first + count;
}

}  // namespace

rfb::EncodeSettings settings_from_encodings(std::span<const int32_t> encodings) {
  namespace E = rfb::encoding;
  rfb::EncodeSettings s;
  for (int32_t e : encodings) {
    // rfbproto.rst "Compression Level" / "JPEG Quality Level" pseudo-encodings, and TurboVNC's
    // fine-grained quality and subsampling.
    if (in_range(e, E::kCompressLevel0, 10)) s.compress_level = e - E::kCompressLevel0;
    if (in_range(e, E::kQualityLevel0, 10)) s.quality_level = e - E::kQualityLevel0;
    if (in_range(e, E::kFineQualityLevel0, 101)) s.fine_quality = e - E::kFineQualityLevel0;
    if (in_range(e, E::kSubsampling0, 6)) s.subsampling = e - E::kSubsampling0;
  }
  return s;
}

UpdatePlanner::UpdatePlanner(const EncoderRegistry& registry) : registry_(registry) {}

UpdatePlanner::~UpdatePlanner() = default;

void UpdatePlanner::set_encodings(std::span<const int32_t> encodings) {
  client_encodings_.assign(encodings.begin(), encodings.end());
  settings_ = settings_from_encodings(encodings);
  // Ordinary pixels: the client's first supported encoding (rfbproto.rst "SetEncodings": the
  // order is the client's preference). CopyRect is chosen per region, never for pixels.
  preferred_ = rfb::encoding::kRaw;
  for (int32_t e : encodings) {
    if (e != rfb::encoding::kCopyRect && registry_.supports(e)) {
      preferred_ = e;
      break;
    }
  }
  // Solid areas: the preferred encoding if it sends them cheaply, else the client's first
  // supported one that does; a client that only takes Raw gets Raw.
  solid_encoding_ = preferred_;
  if (!encoder(preferred_).traits().cheap_solid) {
    for (int32_t e : encodings) {
      if (e != rfb::encoding::kCopyRect && registry_.supports(e) &&
          encoder(e).traits().cheap_solid) {
        solid_encoding_ = e;
        break;
      }
    }
  }
  // Busy content that the preferred encoding handles badly (RRE's palette limit): the client's
  // next choice without such a limit, else Raw.
  fallback_ = rfb::encoding::kRaw;
  for (int32_t e : encodings) {
    if (e != rfb::encoding::kCopyRect && registry_.supports(e) &&
        encoder(e).traits().max_palette == 0) {
      fallback_ = e;
      break;
    }
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

rfb::Encoder& UpdatePlanner::encoder(int32_t encoding) {
  auto it = encoders_.find(encoding);
  if (it == encoders_.end()) {
    auto e = registry_.create(encoding);
    if (!e) e = registry_.create(rfb::encoding::kRaw);
    it = encoders_.emplace(encoding, std::move(e)).first;
  }
  return *it->second;
}

// Finds one-colour areas of at least kMinSolidArea, grown from solid kSolidBlock blocks, takes
// them out of `region` and appends them as pieces (TigerVNC's EncodeManager does the same: a big
// solid area costs a few bytes on its own but inflates every tile-based encoding around it).
void UpdatePlanner::extract_solids(const rfb::Frame& frame, rfb::Region& region,
                                   std::vector<Piece>& out) const {
  const rfb::PixelView all = frame.view();
  const int bs = kSolidBlock;
  for (const rfb::Rect& r : region.rects()) {
    if (r.area() < kMinSolidArea) continue;
    rfb::Region taken;
    for (int by = r.y; by + bs <= r.bottom(); by += bs) {
      for (int bx = r.x; bx + bs <= r.right(); bx += bs) {
        if (taken.contains(bx, by)) continue;
        uint32_t colour = 0;
        if (!is_solid(all.sub({bx, by, bs, bs}), &colour)) continue;
        // Grow right block by block, then down row of blocks by row of blocks.
        int w = bs;
        uint32_t c = 0;
        while (bx + w + bs <= r.right() && !taken.contains(bx + w, by) &&
               is_solid(all.sub({bx + w, by, bs, bs}), &c) && c == colour)
          w += bs;
        int h = bs;
        while (by + h + bs <= r.bottom() && is_solid(all.sub({bx, by + h, w, bs}), &c) &&
               c == colour && taken.intersected(rfb::Rect{bx, by + h, w, bs}).empty())
          h += bs;
        if (w * h < kMinSolidArea) continue;
        const rfb::Rect solid{bx, by, w, h};
        taken.add(solid);
        out.push_back(Piece{solid, solid_encoding_});
      }
    }
    region.subtract(taken);
  }
}

int32_t UpdatePlanner::encoding_for(const rfb::PixelView& native) const {
  auto it = encoders_.find(preferred_);
  const int limit = it == encoders_.end() ? 0 : it->second->traits().max_palette;
  if (limit == 0) return preferred_;
  Palette palette;
  return build_palette(native, limit, palette) ? preferred_ : fallback_;
}

void UpdatePlanner::split(const rfb::Rect& r, int32_t encoding, std::vector<Piece>& out) {
  const rfb::EncoderTraits t = encoder(encoding).traits();
  const int max_w = t.max_width > 0 ? t.max_width : 65535;
  const int max_h = t.max_height > 0 ? t.max_height : 65535;
  for (int y = r.y; y < r.bottom(); y += max_h)
    for (int x = r.x; x < r.right(); x += max_w)
      out.push_back(
          Piece{{x, y, std::min(max_w, r.right() - x), std::min(max_h, r.bottom() - y)}, encoding});
}

void UpdatePlanner::encode_piece(const rfb::Frame& frame, const Piece& p, rfb::ByteBuffer& out) {
  rfb::Encoder& enc = encoder(p.encoding);
  rfb::write_rect_header(out, p.rect, enc.encoding());
  const rfb::EncodeContext ctx{client_, *converter_, settings_};
  const rfb::PixelView src = frame.view(p.rect);
  if (enc.traits().input == rfb::EncoderTraits::Input::kNativeFormat) {
    enc.encode(src, ctx, out);
    return;
  }
  const size_t stride =
      static_cast<size_t>(p.rect.w) * static_cast<size_t>(client_.bytes_per_pixel());
  scratch_.resize(stride * static_cast<size_t>(p.rect.h));
  converter_->convert(src.data, src.stride, scratch_.data(), stride, p.rect.w, p.rect.h);
  enc.encode(rfb::PixelView{scratch_.data(), stride, p.rect.w, p.rect.h, client_}, ctx, out);
}

size_t UpdatePlanner::write_update(const rfb::Frame& frame, const UpdateContent& content,
                                   rfb::ByteBuffer& out) {
  if (!converter_) set_formats(frame.format(), frame.format());
  const rfb::Rect screen{0, 0, frame.size().width, frame.size().height};

  rfb::Region pixels = content.changed.intersected(screen);
  std::vector<CopyOp> copies;
  const bool can_copy = client_supports(rfb::encoding::kCopyRect);
  for (const CopyOp& c : content.copies) {
    const rfb::Rect dst = c.dst.intersect(screen);
    const bool src_inside = screen.contains(
        rfb::Rect{c.src_x + (dst.x - c.dst.x), c.src_y + (dst.y - c.dst.y), dst.w, dst.h});
    if (dst.empty()) continue;
    if (can_copy && src_inside && dst == c.dst) {
      copies.push_back(c);
      pixels.subtract(dst);  // The copy brings these pixels; nothing to re-send.
    } else {
      pixels.add(dst);
    }
  }

  std::vector<Piece> pieces;
  if (solid_encoding_ != rfb::encoding::kRaw) extract_solids(frame, pixels, pieces);
  {
    // Split solids to their encoder's limits.
    std::vector<Piece> solids;
    solids.swap(pieces);
    for (const Piece& s : solids) split(s.rect, s.encoding, pieces);
  }
  std::vector<rfb::Rect> rects = pixels.rects();
  if (rects.size() > kMaxRectsPerUpdate) rects = {pixels.bounds()};
  for (const rfb::Rect& r : rects) split(r, encoding_for(frame.view(r)), pieces);

  const size_t count = (content.resize ? 1 : 0) + copies.size() + pieces.size();
  rfb::write_framebuffer_update_header(out, static_cast<uint16_t>(std::min<size_t>(count, 65535)));
  if (content.resize) {
    // rfbproto.rst "DesktopSize Pseudo-encoding": the new size in the rectangle's w and h.
    rfb::write_rect_header(out, rfb::Rect{0, 0, content.resize->width, content.resize->height},
                           rfb::encoding::kDesktopSize);
  }
  for (const CopyOp& c : copies) {
    // rfbproto.rst "CopyRect Encoding": U16 src-x-position, U16 src-y-position.
    rfb::write_rect_header(out, c.dst, rfb::encoding::kCopyRect);
    out.u16(static_cast<uint16_t>(c.src_x));
    out.u16(static_cast<uint16_t>(c.src_y));
  }
  for (const Piece& p : pieces) encode_piece(frame, p, out);
  return count;
}

}  // namespace vncd::enc
