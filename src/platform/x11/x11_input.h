// X11Input: injects RFB key and pointer events into an X display through XTEST, remapping a
// spare keycode for keysyms the keyboard map lacks. Owns its own X connection; loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rfb/platform.h"
// After the rfb headers: Xlib #defines Status.
#include "platform/x11/x11_display.h"

namespace vncd::platform {

class X11Input final : public rfb::InputSink {
 public:
  // Opens its own connection to `display_name` (empty: $DISPLAY); fails when the display cannot
  // be opened or lacks the XTEST extension.
  static Result<std::unique_ptr<X11Input>> create(const std::string& display_name);
  // Releases every key and button still held and gives back the remapped keycodes.
  ~X11Input() override;
  X11Input(const X11Input&) = delete;
  X11Input& operator=(const X11Input&) = delete;

  // Presses or releases the key that produces `keysym`, adding or removing Shift around the
  // press when the keysym's level needs it. A release goes to the keycode its press used.
  void key(uint32_t keysym, bool down) override;
  // Moves the pointer (when it moved) and presses/releases buttons 1..7 whose bit changed.
  void pointer(int x, int y, uint8_t button_mask) override;
  void flush() override;

 private:
  struct KeyLocation {
    KeyCode keycode = 0;
    int level = 0;  // 0: plain, 1: with Shift.
  };

  explicit X11Input(X11Display display);
  void load_keymap();
  void drain_events();
  KeySym keysym_at(KeyCode keycode, int column) const;
  bool find_key(KeySym keysym, KeyLocation& out) const;
  bool remap_spare(KeySym keysym, KeyLocation& out);
  void fake_key(KeyCode keycode, bool down);
  bool shift_held() const;

  X11Display display_;
  int min_keycode_ = 0;
  int max_keycode_ = 0;
  int syms_per_code_ = 0;
  int xkb_event_base_ = -1;      // -1: the display has no XKB.
  std::vector<KeySym> keymap_;   // (max-min+1) x syms_per_code_, as XGetKeyboardMapping gives it.
  std::vector<KeyCode> spares_;  // Keycodes with no keysyms when we started, least recently used
                                 // first.
  std::map<KeyCode, KeySym> remapped_;   // Spare keycodes we gave a keysym.
  std::map<uint32_t, KeyCode> pressed_;  // Keys the client holds down: keysym -> keycode pressed.
  int last_x_ = -1;
  int last_y_ = -1;
  uint8_t buttons_ = 0;
};

}  // namespace vncd::platform
