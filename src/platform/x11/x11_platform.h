// X11 platform factory: opens the capture, input, clipboard and bell objects for one X display,
// each on its own connection, and hands them over as one bundle. Call from the thread that will own
// them.
#pragma once

#include <memory>
#include <string>

#include "platform/x11/x11_bell.h"
#include "platform/x11/x11_clipboard.h"
#include "platform/x11/x11_frame_source.h"
#include "platform/x11/x11_input.h"

namespace vncd::platform {

struct X11PlatformOptions {
  X11FrameSourceOptions capture;
  X11ClipboardOptions clipboard;
};

struct X11Platform {
  std::unique_ptr<X11FrameSource> frames;
  std::unique_ptr<X11Input> input;
  std::unique_ptr<X11Clipboard> clipboard;
  std::unique_ptr<X11Bell> bell;
};

// Opens all four for `display_name` (empty: $DISPLAY). The first failure is returned as one
// line fit for stderr, e.g. "cannot open display :5".
Result<X11Platform> open_x11_platform(const std::string& display_name,
                                      const X11PlatformOptions& options = {});

}  // namespace vncd::platform
