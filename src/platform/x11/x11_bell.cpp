#include "platform/x11/x11_bell.h"

#include <X11/XKBlib.h>

#include <utility>

namespace vncd::platform {

Result<std::unique_ptr<X11Bell>> X11Bell::create(const std::string& display_name) {
  auto display = X11Display::open(display_name);
  if (!display) return display.error();
  int opcode = 0, event_base = 0, error_base = 0, major = XkbMajorVersion, minor = XkbMinorVersion;
  if (!XkbQueryExtension(display->get(), &opcode, &event_base, &error_base, &major, &minor))
    return Error("display " + display->name() +
                 " has no XKEYBOARD extension: cannot forward the bell");
  // Only BellNotify: every other XKB event would wake the loop for nothing.
  XkbSelectEvents(display->get(), XkbUseCoreKbd, XkbBellNotifyMask, XkbBellNotifyMask);
  XFlush(display->get());
  return std::unique_ptr<X11Bell>(new X11Bell(std::move(display.value()), event_base));
}

X11Bell::X11Bell(X11Display display, int xkb_event_base)
    : display_(std::move(display)), xkb_event_base_(xkb_event_base) {}

void X11Bell::process_events() {
  Display* dpy = display_.get();
  while (XPending(dpy) > 0) {
    XEvent ev;
    XNextEvent(dpy, &ev);
    if (ev.type != xkb_event_base_) continue;
    const auto* xkb = reinterpret_cast<const XkbAnyEvent*>(&ev);
    if (xkb->xkb_type == XkbBellNotify && callback_) callback_();
  }
}

}  // namespace vncd::platform
