// X11Damage: the DAMAGE extension on the root window of one X connection, as a source of "these
// areas may have changed". Owns the Damage object and an XFixes region; loop thread only, on the
// connection of the X11FrameSource that owns it.
#pragma once

#include <memory>

#include "rfb/geometry.h"
#include "rfb/result.h"
// After the rfb headers: Xlib #defines Status.
#include "platform/x11/x11_display.h"

namespace vncd::platform {

// Reporting level: DamageReportNonEmpty. The server sends one event when the damage region goes
// from empty to non-empty and accumulates everything after that itself; take() fetches and
// empties it. So a burst of drawing costs one event and one round trip per capture, however many
// requests the applications made (raw-rectangle reporting would send an event per request).
class X11Damage {
 public:
  // Fails when the server has no DAMAGE 1.1 or XFixes 2.0 extension.
  static Result<std::unique_ptr<X11Damage>> create(X11Display& display);
  ~X11Damage();
  X11Damage(const X11Damage&) = delete;
  X11Damage& operator=(const X11Damage&) = delete;

  // Looks at one event read from the connection; true if it was ours (then it is consumed).
  bool handle_event(const XEvent& event);
  // Whether damage was reported since the last take()/discard().
  bool pending() const { return pending_; }
  // The bounding box of the damage reported since then (empty when none).
  rfb::Rect reported_bounds() const { return reported_.bounds(); }
  // Moves the server's damage region into `into` (one round trip), when pending(); no request
  // otherwise. Damage that happens during or after the call is reported again by a new event.
  void take(rfb::Region& into);
  // Empties the server's damage region without fetching it (a full grab follows anyway).
  void discard();

 private:
  X11Damage(X11Display& display, unsigned long damage, unsigned long region, int event_base);

  X11Display& display_;
  unsigned long damage_;  // Damage XID.
  unsigned long region_;  // XserverRegion XID, reused for every take().
  int event_base_;
  bool pending_ = false;
  rfb::Region reported_;
};

}  // namespace vncd::platform
