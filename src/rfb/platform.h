// Platform interfaces: what the server needs from a desktop (capture, input, clipboard).
// Implemented by src/platform (x11/, fake/); all calls happen on the server's loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "rfb/frame.h"
#include "rfb/geometry.h"
#include "rfb/result.h"

namespace vncd::rfb {

struct Capture {
  FramePtr frame;  // The whole screen, as of now.
  Region changed;  // What differs from the frame returned by the previous capture() (all of it
                   // on the first call or after a size change).
  bool size_changed = false;
};

// Produces frames of the desktop. Change detection may be by polling (compare against the
// previous frame) or by events (XDamage); either way capture() reports only real changes.
class FrameSource {
 public:
  virtual ~FrameSource() = default;

  virtual Size size() const = 0;
  // The format of captured frames. Channel maxima are at most 255.
  virtual PixelFormat format() const = 0;

  // Grabs the screen (or the parts that may have changed) and returns the new frame and the
  // region that changed since the previous call. An error means the desktop is gone.
  virtual Result<Capture> capture() = 0;

  // A file descriptor that becomes readable when the source has events to process (XDamage,
  // RandR), or -1 when the source is purely polled. process_events() is called when it is.
  virtual int event_fd() const { return -1; }
  virtual void process_events() {}

  // False when the source knows nothing has changed since the last capture() (it learns of
  // changes from events, such as XDamage, processed by process_events()); then the server does
  // not capture until an event says otherwise. Polled sources always answer true.
  virtual bool changes_pending() const { return true; }

  // True when the changes reported since the last capture() already cover the whole screen. An
  // event source that reports only growth of a bounding box (XDamage) then reports nothing more
  // before the next capture, so waiting to see whether the drawing goes on learns nothing.
  virtual bool changes_cover_screen() const { return false; }
};

// Injects input into the desktop.
class InputSink {
 public:
  virtual ~InputSink() = default;
  // A KeyEvent: the keysym (X11 keysym values, as RFB defines) pressed or released.
  virtual void key(uint32_t keysym, bool down) = 0;
  // A PointerEvent: absolute position (clipped to the screen by the caller) and button mask
  // (bit 0 = button 1 ... bit 6 = button 7; 4/5 are the vertical wheel, 6/7 horizontal).
  virtual void pointer(int x, int y, uint8_t button_mask) = 0;
  // Pushes pending requests to the display server.
  virtual void flush() {}
};

// The desktop's clipboard, in Latin-1 as RFB's ClientCutText/ServerCutText carry it.
class Clipboard {
 public:
  virtual ~Clipboard() = default;
  // Makes `text` the desktop's clipboard (what a client sent with ClientCutText).
  virtual void set_text(const std::string& latin1) = 0;
  // Called (on the loop thread) when the desktop's clipboard changes, with its new text.
  virtual void on_change(std::function<void(const std::string& latin1)> callback) = 0;
  virtual int event_fd() const { return -1; }
  virtual void process_events() {}
};

// The desktop's bell (a terminal's BEL, an application's beep), which RFB forwards to viewers.
class BellSource {
 public:
  virtual ~BellSource() = default;
  // Called (on the loop thread) each time the desktop rings.
  virtual void on_bell(std::function<void()> callback) = 0;
  virtual int event_fd() const = 0;
  virtual void process_events() = 0;
};

}  // namespace vncd::rfb
