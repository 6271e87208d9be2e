// X11Bell: reports the desktop's bell through XKB BellNotify events, on its own X connection, so
// RFB Bell messages reach viewers. Owned and used by the server's loop thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "rfb/platform.h"
#include "rfb/result.h"
// Xlib after the rfb headers: it #defines Status, None and Bool.
#include "platform/x11/x11_display.h"

namespace vncd::platform {

class X11Bell final : public rfb::BellSource {
 public:
  // Fails with one line when the display cannot be opened or has no XKB extension.
  static Result<std::unique_ptr<X11Bell>> create(const std::string& display_name);

  void on_bell(std::function<void()> callback) override { callback_ = std::move(callback); }
  int event_fd() const override { return display_.fd(); }
  void process_events() override;

 private:
  X11Bell(X11Display display, int xkb_event_base);

  X11Display display_;
  int xkb_event_base_;
  std::function<void()> callback_;
};

}  // namespace vncd::platform
