#include "platform/fake/fake_desktop.h"

#include <cassert>
#include <memory>
#include <utility>

namespace vncd::platform {

FakeDesktop::FakeDesktop(rfb::Size size, rfb::PixelFormat format, int tile)
    : tile_(tile), current_(size, format) {
  assert(tile > 0);
  assert(format.validate().ok());
}

uint8_t* FakeDesktop::pixel_ptr(int x, int y) {
  return current_.mutable_row(y) +
         static_cast<size_t>(x) * static_cast<size_t>(current_.format().bytes_per_pixel());
}
const uint8_t* FakeDesktop::pixel_ptr(int x, int y) const {
  return current_.view().at(x, y);
}

void FakeDesktop::set_pixel(int x, int y, uint32_t pixel) {
  const rfb::Size s = current_.size();
  if (x < 0 || y < 0 || x >= s.width || y >= s.height) return;
  const int bpp = current_.format().bytes_per_pixel();
  uint8_t* p = pixel_ptr(x, y);
  for (int i = 0; i < bpp; ++i) {
    const int byte = current_.format().big_endian ? bpp - 1 - i : i;
    p[i] = static_cast<uint8_t>(pixel >> (8 * byte));
  }
}

uint32_t FakeDesktop::pixel(int x, int y) const {
  const int bpp = current_.format().bytes_per_pixel();
  const uint8_t* p = pixel_ptr(x, y);
  uint32_t v = 0;
  for (int i = 0; i < bpp; ++i) {
    const int byte = current_.format().big_endian ? bpp - 1 - i : i;
    v |= static_cast<uint32_t>(p[i]) << (8 * byte);
  }
  return v;
}

void FakeDesktop::fill_rect(const rfb::Rect& r, uint32_t pixel) {
  const rfb::Size s = current_.size();
  const rfb::Rect c = r.intersect(rfb::Rect{0, 0, s.width, s.height});
  for (int y = c.y; y < c.bottom(); ++y) {
    for (int x = c.x; x < c.right(); ++x) set_pixel(x, y, pixel);
  }
}

void FakeDesktop::resize(rfb::Size size) {
  current_ = rfb::Frame(size, current_.format());
  size_changed_ = true;
}

void FakeDesktop::set_format(const rfb::PixelFormat& format) {
  assert(format.validate().ok());
  current_ = rfb::Frame(current_.size(), format);
  size_changed_ = true;
}

void FakeDesktop::set_capture_error(std::optional<std::string> reason) {
  capture_error_ = std::move(reason);
}

void FakeDesktop::add_change_hint(const rfb::Region& region) {
  if (!hint_) hint_.emplace();
  hint_->add(region);
}

Result<rfb::Capture> FakeDesktop::capture() {
  if (capture_error_) return Error(*capture_error_);
  ++captures_;
  auto frame = std::make_shared<const rfb::Frame>(current_);
  rfb::Capture result;
  const rfb::Size s = frame->size();
  if (size_changed_) previous_.reset();
  result.size_changed = size_changed_;
  size_changed_ = false;
  if (!previous_) {
    result.changed = rfb::Region(rfb::Rect{0, 0, s.width, s.height});
  } else if (hint_) {
    result.changed = diff_tiles(*previous_, *frame, *hint_, tile_);
  } else {
    result.changed = diff_tiles(*previous_, *frame, tile_);
  }
  hint_.reset();
  previous_ = frame;
  result.frame = std::move(frame);
  return result;
}

void FakeDesktop::key(uint32_t keysym, bool down) {
  input_.emplace_back(FakeKeyEvent{keysym, down});
}

void FakeDesktop::pointer(int x, int y, uint8_t button_mask) {
  input_.emplace_back(FakePointerEvent{x, y, button_mask});
}

void FakeDesktop::set_text(const std::string& latin1) {
  clipboard_ = latin1;
  ++set_text_count_;
}

void FakeDesktop::on_change(std::function<void(const std::string&)> callback) {
  callback_ = std::move(callback);
}

void FakeDesktop::external_copy(const std::string& latin1) {
  clipboard_ = latin1;
  if (callback_) callback_(latin1);
}

}  // namespace vncd::platform
