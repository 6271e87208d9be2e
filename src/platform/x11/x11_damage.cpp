#include "platform/x11/x11_damage.h"

#include <X11/extensions/Xdamage.h>
#include <X11/extensions/Xfixes.h>

namespace vncd::platform {

Result<std::unique_ptr<X11Damage>> X11Damage::create(X11Display& display) {
  Display* dpy = display.get();
  int event_base = 0, error_base = 0;
  if (!XDamageQueryExtension(dpy, &event_base, &error_base)) {
    return Error("display " + display.name() + " has no DAMAGE extension");
  }
  // The protocol requires each client to announce the version it speaks before other requests.
  int major = 1, minor = 1;
  if (!XDamageQueryVersion(dpy, &major, &minor) || (major < 1 || (major == 1 && minor < 1))) {
    return Error("display " + display.name() + " has DAMAGE older than 1.1");
  }
  int fixes_event = 0, fixes_error = 0;
  int fixes_major = 2, fixes_minor = 0;
  if (!XFixesQueryExtension(dpy, &fixes_event, &fixes_error) ||
      !XFixesQueryVersion(dpy, &fixes_major, &fixes_minor) || fixes_major < 2) {
    return Error("display " + display.name() + " has no XFixes 2.0 (needed for damage regions)");
  }
  std::optional<XErrorRecord> err;
  Damage damage = 0;
  XserverRegion region = 0;
  {
    X11ErrorTrap trap(display);
    // BoundingBox, not NonEmpty: an event each time the damaged area grows, so the server sees
    // when an application is still drawing a frame (ServerConfig::capture_settle_ms), at the
    // cost of a few more events than one per capture.
    damage = XDamageCreate(dpy, display.root(), XDamageReportBoundingBox);
    region = XFixesCreateRegion(dpy, nullptr, 0);
    err = trap.sync();
  }
  if (err || display.lost()) {
    return Error("XDamageCreate failed on display " + display.name() +
                 (err ? ": " + err->text : std::string()));
  }
  return std::unique_ptr<X11Damage>(new X11Damage(display, damage, region, event_base));
}

X11Damage::X11Damage(X11Display& display, unsigned long damage, unsigned long region,
                     int event_base)
    : display_(display), damage_(damage), region_(region), event_base_(event_base) {}

X11Damage::~X11Damage() {
  if (display_.lost()) return;
  XDamageDestroy(display_.get(), damage_);
  XFixesDestroyRegion(display_.get(), region_);
}

bool X11Damage::handle_event(const XEvent& event) {
  if (event.type != event_base_ + XDamageNotify) return false;
  pending_ = true;
  // At ReportBoundingBox each event carries the box of everything damaged since the last
  // subtract; the union also holds if an event was for an earlier, smaller box.
  const XRectangle& a = reinterpret_cast<const XDamageNotifyEvent&>(event).area;
  reported_.add(rfb::Rect{a.x, a.y, a.width, a.height});
  return true;
}

void X11Damage::take(rfb::Region& into) {
  if (!pending_ || display_.lost()) return;
  pending_ = false;
  reported_.clear();
  Display* dpy = display_.get();
  XDamageSubtract(dpy, damage_, 0, region_);
  int count = 0;
  XRectangle* rects = XFixesFetchRegion(dpy, region_, &count);
  if (rects == nullptr) return;
  for (int i = 0; i < count; ++i) {
    into.add(rfb::Rect{rects[i].x, rects[i].y, rects[i].width, rects[i].height});
  }
  XFree(rects);
}

void X11Damage::discard() {
  if (!pending_ || display_.lost()) return;
  pending_ = false;
  reported_.clear();
  XDamageSubtract(display_.get(), damage_, 0, 0);
}

}  // namespace vncd::platform
