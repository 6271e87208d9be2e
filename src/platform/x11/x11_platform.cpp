#include "platform/x11/x11_platform.h"

#include <utility>

namespace vncd::platform {

Result<X11Platform> open_x11_platform(const std::string& display_name,
                                      const X11PlatformOptions& options) {
  auto frames = X11FrameSource::create(display_name, options.capture);
  if (!frames) return frames.error();
  auto input = X11Input::create(display_name);
  if (!input) return input.error();
  auto clipboard = X11Clipboard::create(display_name, options.clipboard);
  if (!clipboard) return clipboard.error();
  auto bell = X11Bell::create(display_name);
  if (!bell) return bell.error();
  return X11Platform{std::move(frames.value()), std::move(input.value()),
                     std::move(clipboard.value()), std::move(bell.value())};
}

}  // namespace vncd::platform
