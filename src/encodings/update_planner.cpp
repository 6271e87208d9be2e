#include "encodings/update_planner.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "encodings/palette.h"
#include "rfb/messages.h"

namespace vncd::enc {
namespace {

// A FramebufferUpdate carries a U16 rectangle count; regions more fragmented than this are sent
// as their bounding box instead (rare: pixman keeps regions as y-x bands).
constexpr size_t kMaxRectsPerUpdate = 4096;

// Pixels a merge may add: about what a rectangle costs on its own (a 12-byte header, an
// encoder's length and flush bytes, a tile's sub-encoding) in the compact encodings.
constexpr int64_t kCoalesceSlack = 256;

rfb::Rect bounding(const rfb::Rect& a, const rfb::Rect& b) {
  const int x = std::min(a.x, b.x), y = std::min(a.y, b.y);
  return rfb::Rect{x, y, std::max(a.right(), b.right()) - x, std::max(a.bottom(), b.bottom()) - y};
}

bool in_range(int32_t e, int32_t first, int32_t count) {
  return e >= first && e < first + count;
}

}  // namespace

std::vector<rfb::Rect> coalesce_rects(std::vector<rfb::Rect> rects, int64_t slack) {
  if (rects.size() > kMaxCoalesce) return rects;
  // Area of the input inside each rectangle: merged boxes stay disjoint from the rest because a
  // rectangle overlapping a box is only ever merged into it, never left beside it.
  std::vector<int64_t> covered(rects.size());
  int64_t total = 0;  // Input area in all boxes: no merge can cover more.
  for (size_t i = 0; i < rects.size(); ++i) total += covered[i] = rects[i].area();
  std::vector<size_t> joining;
  for (bool merged = true; merged;) {
    merged = false;
    for (size_t i = 0; i < rects.size() && !merged; ++i) {
      for (size_t j = i + 1; j < rects.size() && !merged; ++j) {
        const rfb::Rect box = bounding(rects[i], rects[j]);
        // Most pairs of a fragmented region are far apart: rejected without the scan below.
        if (box.area() - total > slack) continue;
        // Anything else the box would overlap joins too, so the result stays disjoint.
        // One that sticks out of the box would grow it: no merge of this pair then.
        int64_t inside = covered[i] + covered[j];
        joining.assign(1, j);
        bool sticks_out = false;
        for (size_t k = 0; k < rects.size() && !sticks_out; ++k) {
          if (k == i || k == j || box.intersect(rects[k]).empty()) continue;
          sticks_out = !box.contains(rects[k]);
          joining.push_back(k);
          inside += covered[k];
        }
        if (sticks_out || box.area() - inside > slack) continue;
        rects[i] = box;
        covered[i] = inside;
        std::sort(joining.rbegin(), joining.rend());
        for (size_t k : joining) {
          rects.erase(rects.begin() + static_cast<std::ptrdiff_t>(k));
          covered.erase(covered.begin() + static_cast<std::ptrdiff_t>(k));
        }
        merged = true;
      }
    }
  }
  return rects;
}

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

UpdatePlanner::UpdatePlanner(const EncoderRegistry& registry) : registry_(registry) {
  lanes_.push_back(std::make_unique<Lane>());
}

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
  // "copy": identical formats whose every bit is a channel bit (the converter only memcpys).
  identity_ = std::strcmp(converter_->kernel_name(), "copy") == 0;
}

bool UpdatePlanner::client_supports(int32_t encoding) const {
  return std::find(client_encodings_.begin(), client_encodings_.end(), encoding) !=
         client_encodings_.end();
}

rfb::Encoder& UpdatePlanner::encoder_in(size_t lane, int32_t encoding) {
  while (lanes_.size() <= lane) lanes_.push_back(std::make_unique<Lane>());
  auto& encoders = lanes_[lane]->encoders;
  auto it = encoders.find(encoding);
  if (it == encoders.end()) {
    auto e = registry_.create(encoding);
    if (!e) e = registry_.create(rfb::encoding::kRaw);
    it = encoders.emplace(encoding, std::move(e)).first;
  }
  return *it->second;
}

// Finds one-colour areas of at least kMinSolidArea, grown from solid kSolidBlock blocks, takes
// them out of `region` and appends them as pieces (TigerVNC's EncodeManager does the same: a big
// solid area costs a few bytes on its own but inflates every tile-based encoding around it).
void UpdatePlanner::extract_solids(const rfb::Frame& frame, rfb::Region& region, bool lossless,
                                   std::vector<Piece>& out) const {
  const rfb::PixelView all = frame.view();
  const int bs = kSolidBlock;
  // Per block of a rectangle: whether it is solid (and in which colour), found once however
  // often the growing below asks, and whether a solid area has taken it. Areas are whole blocks
  // of one rectangle's grid, so block flags answer what regions would.
  enum : uint8_t { kUnknown, kMixed, kSolid };
  std::vector<uint8_t> state, taken;
  std::vector<uint32_t> colours;
  for (const rfb::Rect& r : region.rects()) {
    if (r.area() < kMinSolidArea) continue;
    const int cols = r.w / bs, rows = r.h / bs;
    if (cols == 0 || rows == 0) continue;
    const size_t blocks = static_cast<size_t>(cols) * static_cast<size_t>(rows);
    state.assign(blocks, kUnknown);
    taken.assign(blocks, 0);
    colours.resize(blocks);
    auto at = [&](int i, int j) {
      return static_cast<size_t>(j) * static_cast<size_t>(cols) + static_cast<size_t>(i);
    };
    // The block's colour when it is solid.
    auto solid = [&](int i, int j, uint32_t* colour) {
      const size_t k = at(i, j);
      if (state[k] == kUnknown) {
        uint32_t c = 0;
        state[k] = is_solid(all.sub({r.x + i * bs, r.y + j * bs, bs, bs}), &c) ? kSolid : kMixed;
        colours[k] = c;
      }
      *colour = colours[k];
      return state[k] == kSolid;
    };
    std::vector<rfb::Rect> found;
    for (int j = 0; j < rows; ++j) {
      for (int i = 0; i < cols; ++i) {
        uint32_t colour = 0, c = 0;
        if (taken[at(i, j)] || !solid(i, j, &colour)) continue;
        // Grow right block by block, then down row of blocks by row of blocks.
        int w = 1;
        while (i + w < cols && !taken[at(i + w, j)] && solid(i + w, j, &c) && c == colour) ++w;
        int h = 1;
        while (j + h < rows) {
          // The row of blocks below: known ones from their flags, the rest in one look (a wide
          // background is one is_solid() call per row, not one per block).
          bool row_ok = true, all_known = true;
          for (int k = i; k < i + w && row_ok; ++k) {
            const size_t b = at(k, j + h);
            if (taken[b])
              row_ok = false;
            else if (state[b] == kUnknown)
              all_known = false;
            else
              row_ok = state[b] == kSolid && colours[b] == colour;
          }
          if (row_ok && !all_known) {
            const rfb::Rect strip{r.x + i * bs, r.y + (j + h) * bs, w * bs, bs};
            row_ok = is_solid(all.sub(strip), &c) && c == colour;
            if (row_ok) {
              for (int k = i; k < i + w; ++k) {
                state[at(k, j + h)] = kSolid;
                colours[at(k, j + h)] = colour;
              }
            }
          }
          if (!row_ok) break;
          ++h;
        }
        if (w * h * bs * bs < kMinSolidArea) continue;
        for (int y = j; y < j + h; ++y)
          for (int x = i; x < i + w; ++x) taken[at(x, y)] = 1;
        found.push_back(rfb::Rect{r.x + i * bs, r.y + j * bs, w * bs, h * bs});
      }
    }
    for (const rfb::Rect& solid_rect : found) {
      region.subtract(solid_rect);
      out.push_back(Piece{solid_rect, solid_encoding_, lossless});
    }
  }
}

int32_t UpdatePlanner::encoding_for(const rfb::PixelView& native) const {
  const auto& encoders = lanes_[0]->encoders;
  auto it = encoders.find(preferred_);
  const int limit = it == encoders.end() ? 0 : it->second->traits().max_palette;
  if (limit == 0) return preferred_;
  Palette palette;
  return build_palette(native, limit, palette) ? preferred_ : fallback_;
}

void UpdatePlanner::split(const rfb::Rect& r, int32_t encoding, bool lossless,
                          std::vector<Piece>& out) {
  const rfb::EncoderTraits t = encoder(encoding).traits();
  const int max_w = t.max_width > 0 ? t.max_width : 65535;
  const int max_h = t.max_height > 0 ? t.max_height : 65535;
  for (int y = r.y; y < r.bottom(); y += max_h)
    for (int x = r.x; x < r.right(); x += max_w)
      out.push_back(Piece{{x, y, std::min(max_w, r.right() - x), std::min(max_h, r.bottom() - y)},
                          encoding,
                          lossless});
}

bool UpdatePlanner::encode_piece(size_t lane, const rfb::Frame& frame, const Piece& p,
                                 const rfb::EncodeSettings& settings, std::vector<uint8_t>& scratch,
                                 rfb::TaskRunner* runner, rfb::ByteBuffer& out) {
  rfb::Encoder& enc = encoder_in(lane, p.encoding);
  rfb::write_rect_header(out, p.rect, enc.encoding());
  const rfb::PixelView src = frame.view(p.rect);
  if (p.encoding == rfb::encoding::kRaw) {
    // rfbproto.rst "Raw Encoding": the client-format pixels, row by row; converted (or copied)
    // straight into the message, in row bands over the runner: one pass over the pixels.
    const size_t row =
        static_cast<size_t>(p.rect.w) * static_cast<size_t>(client_.bytes_per_pixel());
    uint8_t* dst = out.grow_for_overwrite(row * static_cast<size_t>(p.rect.h));
    // Bands of at least 32 rows: below that the runner's hand-off costs more than it saves.
    const size_t bands =
        runner ? std::max<size_t>(
                     1, std::min<size_t>(static_cast<size_t>(p.rect.h) / 32, runner->concurrency()))
               : 1;
    auto convert_band = [&](size_t i) {
      const int y0 = static_cast<int>(static_cast<size_t>(p.rect.h) * i / bands);
      const int y1 = static_cast<int>(static_cast<size_t>(p.rect.h) * (i + 1) / bands);
      converter_->convert(src.row(y0), src.stride, dst + row * static_cast<size_t>(y0), row,
                          p.rect.w, y1 - y0);
    };
    if (bands > 1)
      runner->run(bands, convert_band);
    else
      convert_band(0);
    return false;
  }
  rfb::EncodeContext ctx{client_, *converter_, settings};
  ctx.settings.allow_lossy = settings.allow_lossy && !p.lossless;
  ctx.runner = runner;
  if (enc.traits().input == rfb::EncoderTraits::Input::kNativeFormat) {
    enc.encode(src, ctx, out);
    return enc.last_was_lossy();
  }
  if (identity_) {
    // The captured bytes are already the client's: no copy.
    enc.encode(rfb::PixelView{src.data, src.stride, p.rect.w, p.rect.h, client_}, ctx, out);
    return enc.last_was_lossy();
  }
  const size_t stride =
      static_cast<size_t>(p.rect.w) * static_cast<size_t>(client_.bytes_per_pixel());
  scratch.resize(stride * static_cast<size_t>(p.rect.h));
  converter_->convert(src.data, src.stride, scratch.data(), stride, p.rect.w, p.rect.h);
  enc.encode(rfb::PixelView{scratch.data(), stride, p.rect.w, p.rect.h, client_}, ctx, out);
  return enc.last_was_lossy();
}

// Cuts pieces into bands of whole tile rows (64, or 16 for very wide screens; Hextile's and
// TRLE's tiles are 16 rows, ZRLE's 64), for two reasons. Memory: no piece holds more than about
// kMaxPieceBytes of pixels, so neither the output of a continue_update() nor an encoder's
// working buffers grow with the screen. Threads: stateless encoders can only share out whole
// rectangles, so tall ones go in about two bands per thread, so that uneven content still
// balances. A band costs a rectangle header and a restarted tile state.
std::vector<UpdatePlanner::Piece> UpdatePlanner::cut_into_bands(std::vector<Piece> pieces) {
  constexpr int kAlign = 64;
  const int threads = runner_ ? static_cast<int>(runner_->concurrency()) : 1;
  const size_t bpp = static_cast<size_t>(native_.bytes_per_pixel());
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (const Piece& p : pieces) {
    int band = p.rect.h;
    const size_t row_bytes = static_cast<size_t>(p.rect.w) * bpp;
    // Encoders that spread one rectangle over the threads themselves (ZRLE's and Zlib's
    // parallel deflate) need bigger pieces to do it: a 64-row band leaves them one thread.
    const size_t limit =
        encoder(p.encoding).traits().max_lanes == 1 ? 4 * kMaxPieceBytes : kMaxPieceBytes;
    if (row_bytes * static_cast<size_t>(p.rect.h) > limit) {
      const int rows = static_cast<int>(limit / row_bytes);
      const int align = rows >= kAlign ? kAlign : 16;
      band = std::min(band, std::max(16, rows / align * align));
    }
    // Raw is a copy: thread bands would only add one.
    if (threads > 1 && p.rect.h >= 2 * kAlign && p.rect.area() >= kMinStripArea &&
        p.encoding != rfb::encoding::kRaw && encoder(p.encoding).traits().max_lanes == 0) {
      const int want = (p.rect.h + 2 * threads - 1) / (2 * threads);
      band = std::min(band, std::max(kAlign, (want + kAlign - 1) / kAlign * kAlign));
    }
    if (band >= p.rect.h) {
      out.push_back(p);
      continue;
    }
    for (int y = p.rect.y; y < p.rect.bottom(); y += band)
      out.push_back(Piece{
          {p.rect.x, y, p.rect.w, std::min(band, p.rect.bottom() - y)}, p.encoding, p.lossless});
  }
  return out;
}

namespace {

enum class RowKind : uint8_t { kUnsure, kText, kPhoto };

// One row by its colours: a row of text or UI has a handful (Tight sends it with a palette), a
// row of a photo or gradient more than Tight's palette limit with JPEG. Rows narrower than a
// photo row needs to show its colours are left unsure.
RowKind row_kind(const rfb::PixelView& frame, const rfb::Rect& piece, int y) {
  constexpr int kTextColours = 24;   // Tight's palette limit at levels 0-1 with JPEG.
  constexpr int kPhotoColours = 96;  // Its limit from level 2 on: more goes to JPEG.
  constexpr int kMinPhotoWidth = 256;
  Palette palette;
  const rfb::PixelView row = frame.sub(rfb::Rect{piece.x, y, piece.w, 1});
  if (!build_palette(row, kPhotoColours, palette))
    return piece.w >= kMinPhotoWidth ? RowKind::kPhoto : RowKind::kUnsure;
  return palette.size() <= kTextColours ? RowKind::kText : RowKind::kUnsure;
}

}  // namespace

std::vector<UpdatePlanner::Piece> UpdatePlanner::cut_at_content_changes(const rfb::Frame& frame,
                                                                        std::vector<Piece> pieces) {
  // Only where JPEG is possible at all: the client asked for a quality and the encoder is lossy.
  if (settings_.quality_level < 0 && settings_.fine_quality < 0) return pieces;
  // A run shorter than this stays with its neighbour: a ruled line across a photo is no reason
  // for two more JPEG headers (~600 bytes each).
  constexpr int kMinRun = 8;
  const rfb::PixelView all = frame.view();
  std::vector<Piece> out;
  out.reserve(pieces.size());
  std::vector<RowKind> kinds;
  for (const Piece& p : pieces) {
    const rfb::Rect& r = p.rect;
    if (p.lossless || r.h < 2 * kMinRun || !encoder(p.encoding).traits().lossy) {
      out.push_back(p);
      continue;
    }
    // Two rows decide whether to look closer: content that changes kind inside a piece almost
    // always differs between its top and its bottom.
    const RowKind top = row_kind(all, r, r.y + kMinRun / 2);
    const RowKind bottom = row_kind(all, r, r.bottom() - 1 - kMinRun / 2);
    if (top == bottom || top == RowKind::kUnsure || bottom == RowKind::kUnsure) {
      out.push_back(p);
      continue;
    }
    // Each row's kind; an unsure row takes the kind of the nearest sure row above it (at the top,
    // the sampled top row's).
    kinds.assign(static_cast<size_t>(r.h), RowKind::kUnsure);
    for (int i = 0; i < r.h; ++i) kinds[static_cast<size_t>(i)] = row_kind(all, r, r.y + i);
    RowKind last = top;
    for (RowKind& k : kinds) last = k = k == RowKind::kUnsure ? last : k;
    // Runs of one kind, short ones merged into the run before them.
    std::vector<std::pair<int, int>> runs;  // [start, end) rows.
    for (int i = 0; i < r.h;) {
      int j = i + 1;
      while (j < r.h && kinds[static_cast<size_t>(j)] == kinds[static_cast<size_t>(i)]) ++j;
      if (!runs.empty() && (j - i < kMinRun || runs.back().second - runs.back().first < kMinRun))
        runs.back().second = j;
      else
        runs.emplace_back(i, j);
      i = j;
    }
    for (const auto& [from, to] : runs)
      out.push_back(Piece{{r.x, r.y + from, r.w, to - from}, p.encoding, p.lossless});
  }
  return out;
}

// Groups the pieces by encoding; each encoding's pieces go to as many encoder instances as its
// traits allow and the runner has threads, in contiguous runs of about equal area so that every
// instance sees its pieces in wire order (Tight's streams need it).
std::vector<UpdatePlanner::Task> UpdatePlanner::plan_tasks(const std::vector<Piece>& pieces) {
  const size_t threads = runner_ ? std::max<size_t>(runner_->concurrency(), 1) : 1;
  std::map<int32_t, std::vector<size_t>> by_encoding;
  for (size_t i = 0; i < pieces.size(); ++i) by_encoding[pieces[i].encoding].push_back(i);
  std::vector<Task> tasks;
  for (auto& [e, idx] : by_encoding) {
    const int max_lanes = encoder(e).traits().max_lanes;
    size_t k = max_lanes == 0 ? threads : std::min<size_t>(static_cast<size_t>(max_lanes), threads);
    if (max_lanes > 1) {
      // Instances share the connection's state by lane: a new split re-tells every instance
      // its lane and drops the ones no longer used (their streams are reset when used again).
      const auto it = lane_split_.try_emplace(e, 1).first;
      if (static_cast<size_t>(it->second) != k) {
        for (size_t l = k; l < lanes_.size(); ++l) lanes_[l]->encoders.erase(e);
        for (size_t l = 0; l < k; ++l)
          encoder_in(l, e).set_lane(static_cast<int>(l), static_cast<int>(k));
        it->second = static_cast<int>(k);
      }
    }
    if (max_lanes == 0) k = std::min(k, idx.size());
    if (k <= 1) {
      tasks.push_back(Task{0, e, std::move(idx)});
      continue;
    }
    int64_t total = 0;
    for (size_t i : idx) total += pieces[i].rect.area();
    const int64_t share = (total + static_cast<int64_t>(k) - 1) / static_cast<int64_t>(k);
    size_t lane = 0;
    int64_t acc = 0;
    Task task{0, e, {}};
    for (size_t i : idx) {
      task.pieces.push_back(i);
      acc += pieces[i].rect.area();
      if (acc >= share * static_cast<int64_t>(lane + 1) && lane + 1 < k) {
        tasks.push_back(std::move(task));
        task = Task{++lane, e, {}};
      }
    }
    if (!task.pieces.empty()) tasks.push_back(std::move(task));
  }
  return tasks;
}

UpdateResult UpdatePlanner::write_update(const rfb::Frame& frame, const UpdateContent& content,
                                         rfb::ByteBuffer& out) {
  begin_update(frame, content, out);
  continue_update(out, std::numeric_limits<size_t>::max());
  return result_;
}

void UpdatePlanner::begin_update(const rfb::Frame& frame, const UpdateContent& content,
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

  // Lossy-allowed pixels first, then the lossless ones, so that where a fragmented region's
  // bounding box overlaps the other kind the lossless pixels are the ones left on screen.
  rfb::Region lossless_pixels = pixels.intersected(content.lossless);
  pixels.subtract(lossless_pixels);
  std::vector<Piece> pieces;
  if (solid_encoding_ != rfb::encoding::kRaw) {
    extract_solids(frame, pixels, false, pieces);
    extract_solids(frame, lossless_pixels, true, pieces);
  }
  {
    // Split solids to their encoder's limits.
    std::vector<Piece> solids;
    solids.swap(pieces);
    for (const Piece& s : solids) split(s.rect, s.encoding, s.lossless, pieces);
  }
  for (int pass = 0; pass < 2; ++pass) {
    const rfb::Region& region = pass == 0 ? pixels : lossless_pixels;
    std::vector<rfb::Rect> rects = coalesce_rects(region.rects(), kCoalesceSlack);
    if (rects.size() > kMaxRectsPerUpdate) rects = {region.bounds()};
    for (const rfb::Rect& r : rects) split(r, encoding_for(frame.view(r)), pass == 1, pieces);
  }
  pieces = cut_at_content_changes(frame, std::move(pieces));
  pieces = cut_into_bands(std::move(pieces));

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

  update_settings_ = settings_;
  update_settings_.jpeg_quality_cap = content.jpeg_quality_cap;
  update_settings_.jpeg_subsampling_cap = content.jpeg_subsampling;
  result_ = UpdateResult{};
  result_.rects = count;
  update_frame_ = &frame;
  update_pieces_ = std::move(pieces);
  next_piece_ = 0;
  update_pixels_ = update_output_ = 0;
}

bool UpdatePlanner::continue_update(rfb::ByteBuffer& out, size_t budget) {
  if (!update_frame_) return true;
  const size_t start = out.size();
  const size_t bpp = static_cast<size_t>(update_frame_->format().bytes_per_pixel());
  const size_t threads = runner_ ? std::max<size_t>(runner_->concurrency(), 1) : 1;
  std::vector<Piece> batch;
  while (next_piece_ < update_pieces_.size() && out.size() - start < budget) {
    // The next pieces, enough pixels to give about the rest of `budget` at the output ratio seen
    // so far, and at least one per thread where there are that many.
    const size_t room = budget - (out.size() - start);
    const double ratio = update_pixels_ > 0 ? update_output_ / update_pixels_ : output_ratio_;
    const size_t want =
        static_cast<size_t>(std::min(static_cast<double>(kMaxBatchBytes),
                                     static_cast<double>(room) / std::max(ratio, kMinOutputRatio)));
    size_t bytes = 0;
    batch.clear();
    while (next_piece_ < update_pieces_.size() && (bytes < want || batch.size() < threads)) {
      const Piece& p = update_pieces_[next_piece_++];
      bytes += static_cast<size_t>(p.rect.area()) * bpp;
      batch.push_back(p);
    }
    const size_t before = out.size();
    encode_batch(batch, out);
    update_pixels_ += static_cast<double>(bytes);
    update_output_ += static_cast<double>(out.size() - before);
  }
  if (next_piece_ < update_pieces_.size()) return false;
  if (update_pixels_ > 0) output_ratio_ = update_output_ / update_pixels_;
  update_pixels_ = update_output_ = 0;
  update_frame_ = nullptr;
  update_pieces_.clear();
  next_piece_ = 0;
  // Piece buffers hold one batch at most; an update that left bigger ones (a rectangle that
  // could not be cut) gives the storage back.
  for (rfb::ByteBuffer& b : piece_out_) b.shrink_to(2 * kMaxPieceBytes);
  return true;
}

void UpdatePlanner::encode_batch(const std::vector<Piece>& pieces, rfb::ByteBuffer& out) {
  const rfb::Frame& frame = *update_frame_;
  const rfb::EncodeSettings& settings = update_settings_;
  // In wire order: a later rectangle replaces what an earlier one left where they overlap.
  auto note = [&](const Piece& p, bool lossy) {
    if (lossy)
      result_.lossy.add(p.rect);
    else if (!result_.lossy.empty())
      result_.lossy.subtract(p.rect);
  };

  std::vector<Task> tasks = plan_tasks(pieces);
  if (scratch_.size() < std::max<size_t>(tasks.size(), 1)) scratch_.resize(tasks.size() + 1);
  // Raw needs no per-piece buffers: each piece is converted into `out` with the runner's help,
  // which saves copying the whole batch once more.
  const bool all_raw = std::all_of(pieces.begin(), pieces.end(), [](const Piece& p) {
    return p.encoding == rfb::encoding::kRaw;
  });
  const bool threaded = runner_ && runner_->concurrency() > 1 && tasks.size() > 1 && !all_raw;
  if (!threaded) {
    // One instance per encoding (lane 0): straight into `out`; an encoder may still split a
    // rectangle over the runner itself.
    for (const Piece& p : pieces)
      note(p, encode_piece(0, frame, p, settings, scratch_[0], runner_, out));
    return;
  }
  if (piece_out_.size() < pieces.size()) piece_out_.resize(pieces.size());
  piece_lossy_.assign(pieces.size(), 0);
  auto run_task = [&](const Task& t, std::vector<uint8_t>& scratch, rfb::TaskRunner* runner) {
    for (size_t i : t.pieces) {
      piece_out_[i].clear();
      piece_lossy_[i] =
          encode_piece(t.lane, frame, pieces[i], settings, scratch, runner, piece_out_[i]);
    }
  };
  // Encoder instances are looked up (and made) before the threads start: the lanes' maps
  // must not change while several threads read them.
  std::vector<size_t> parallel, serial;
  for (size_t t = 0; t < tasks.size(); ++t) {
    encoder_in(tasks[t].lane, tasks[t].encoding);
    const int max_lanes = encoder(tasks[t].encoding).traits().max_lanes;
    (max_lanes == 1 ? serial : parallel).push_back(t);
  }
  if (!parallel.empty())
    runner_->run(parallel.size(),
                 [&](size_t i) { run_task(tasks[parallel[i]], scratch_[parallel[i]], nullptr); });
  for (size_t t : serial) run_task(tasks[t], scratch_[t], runner_);
  // One allocation for the batch: growing by doubling would hold the old and the new storage
  // at once, on top of the pieces.
  size_t total = 0;
  for (size_t i = 0; i < pieces.size(); ++i) total += piece_out_[i].size();
  out.reserve(out.size() + total);
  for (size_t i = 0; i < pieces.size(); ++i) {
    out.append(piece_out_[i].span());
    piece_out_[i].clear();
    note(pieces[i], piece_lossy_[i] != 0);
  }
  // Buffers of pieces beyond this batch's count (an earlier, more fragmented one) are given
  // back; the rest are reused by the next batch of about the same shape.
  for (size_t i = pieces.size(); i < piece_out_.size(); ++i) piece_out_[i].shrink_to(0);
}

}  // namespace vncd::enc
