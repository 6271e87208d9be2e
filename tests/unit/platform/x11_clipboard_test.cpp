// X11Clipboard against a private Xvfb and xclip: serving our text, noticing other owners,
// Latin-1/UTF-8 conversion, the size limit, INCR transfers.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "platform/x11/x11_clipboard.h"
#include "x11_fixture.h"
#include "x11_test_support.h"
// Xlib headers after ours (Xlib #defines Status).
#include <X11/Xatom.h>

namespace vncd::platform {
namespace {

using namespace std::chrono_literals;
using test_support::ChildProcess;
using test_support::read_all;
using test_support::wait_until;
using test_support::Xvfb;

// An ICCCM owner that sends its text in INCR chunks (as GTK does for large selections), on its
// own connection. `claimed` is the size it announces, which may understate the real one.
class IncrOwner {
 public:
  IncrOwner(const std::string& display, std::string data, long claimed, size_t chunk)
      : data_(std::move(data)), claimed_(claimed), chunk_(chunk) {
    auto d = X11Display::open(display);
    EXPECT_TRUE(d.ok());
    if (!d.ok()) return;
    display_.emplace(std::move(d.value()));
    Display* dpy = display_->get();
    window_ = XCreateSimpleWindow(dpy, display_->root(), 0, 0, 1, 1, 0, 0, 0);
    clipboard_ = XInternAtom(dpy, "CLIPBOARD", False);
    utf8_ = XInternAtom(dpy, "UTF8_STRING", False);
    incr_ = XInternAtom(dpy, "INCR", False);
    XSetSelectionOwner(dpy, clipboard_, window_, CurrentTime);
    XSync(dpy, False);
  }

  bool finished() const { return finished_; }

  void pump() {
    if (!display_) return;
    Display* dpy = display_->get();
    while (XPending(dpy) > 0) {
      XEvent ev;
      XNextEvent(dpy, &ev);
      if (ev.type == SelectionRequest) {
        const XSelectionRequestEvent& req = ev.xselectionrequest;
        XSelectionEvent reply{};
        reply.type = SelectionNotify;
        reply.requestor = req.requestor;
        reply.selection = req.selection;
        reply.target = req.target;
        reply.time = req.time;
        reply.property = None;
        if (req.target == utf8_) {
          requestor_ = req.requestor;
          property_ = req.property;
          offset_ = 0;
          XSelectInput(dpy, requestor_, PropertyChangeMask);
          XChangeProperty(dpy, requestor_, property_, incr_, 32, PropModeReplace,
                          reinterpret_cast<const unsigned char*>(&claimed_), 1);
          reply.property = property_;
          sending_ = true;
        }
        XSendEvent(dpy, req.requestor, False, NoEventMask, reinterpret_cast<XEvent*>(&reply));
      } else if (ev.type == PropertyNotify && sending_ && ev.xproperty.window == requestor_ &&
                 ev.xproperty.atom == property_ && ev.xproperty.state == PropertyDelete) {
        // The requestor took the previous piece: send the next (zero length at the end).
        const size_t n = std::min(chunk_, data_.size() - offset_);
        XChangeProperty(dpy, requestor_, property_, utf8_, 8, PropModeReplace,
                        reinterpret_cast<const unsigned char*>(data_.data() + offset_),
                        static_cast<int>(n));
        offset_ += n;
        if (n == 0) {
          sending_ = false;
          finished_ = true;
          XSelectInput(dpy, requestor_, NoEventMask);
        }
      }
    }
    XFlush(dpy);
  }

 private:
  std::optional<X11Display> display_;
  std::string data_;
  long claimed_;
  size_t chunk_;
  Window window_ = 0;
  Atom clipboard_ = 0, utf8_ = 0, incr_ = 0;
  Window requestor_ = 0;
  Atom property_ = 0;
  size_t offset_ = 0;
  bool sending_ = false;
  bool finished_ = false;
};

class X11ClipboardTest : public test_support::WithXvfb<> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(xvfb_);
    auto c = X11Clipboard::create(xvfb_->display());
    ASSERT_TRUE(c.ok()) << c.error().message();
    clipboard_ = std::move(c.value());
    clipboard_->on_change([this](const std::string& text) { changes_.push_back(text); });
  }

  void pump() { clipboard_->process_events(); }

  // Runs `xclip -o` while our clipboard answers its requests.
  std::string xclip_out(const std::string& selection, const std::string& target = "") {
    std::vector<std::string> argv = {"/usr/bin/xclip", "-o",       "-selection",
                                     selection,        "-display", xvfb_->display()};
    if (!target.empty()) argv.insert(argv.end(), {"-t", target});
    auto p = ChildProcess::spawn(argv, false, true);
    EXPECT_TRUE(p);
    if (!p) return {};
    std::string out = read_all(p->stdout_fd(), 5s, [&] { pump(); });
    int status = -1;
    EXPECT_TRUE(p->wait_exit(5s, &status));
    return out;
  }

  // Starts `xclip -i` in the foreground owning `selection` with `data`; it serves until another
  // client takes the selection (or it is killed when the returned object goes).
  std::unique_ptr<ChildProcess> xclip_in(const std::string& selection, const std::string& data) {
    auto p = ChildProcess::spawn(
        {"/usr/bin/xclip", "-i", "-quiet", "-selection", selection, "-display", xvfb_->display()},
        true, false);
    EXPECT_TRUE(p);
    if (p) {
      EXPECT_TRUE(p->write_stdin_and_close(data));
    }
    return p;
  }

  std::unique_ptr<X11Clipboard> clipboard_;
  std::vector<std::string> changes_;
};

TEST_F(X11ClipboardTest, ServesOurTextAsUtf8AndLatin1) {
  clipboard_->set_text("Hello clipboard \xe9!\nline two");
  EXPECT_EQ(xclip_out("clipboard"), "Hello clipboard \xc3\xa9!\nline two");
  EXPECT_EQ(xclip_out("clipboard", "UTF8_STRING"), "Hello clipboard \xc3\xa9!\nline two");
  EXPECT_EQ(xclip_out("clipboard", "STRING"), "Hello clipboard \xe9!\nline two");
  EXPECT_EQ(xclip_out("primary", "UTF8_STRING"), "Hello clipboard \xc3\xa9!\nline two");
  const std::string targets = xclip_out("clipboard", "TARGETS");
  EXPECT_NE(targets.find("UTF8_STRING"), std::string::npos) << targets;
  EXPECT_NE(targets.find("STRING"), std::string::npos) << targets;
  EXPECT_TRUE(changes_.empty());  // Our own ownership is not a change.

  clipboard_->set_text("second");
  EXPECT_EQ(xclip_out("clipboard"), "second");
}

TEST_F(X11ClipboardTest, OtherOwnersTextIsReportedAsLatin1) {
  auto owner = xclip_in("clipboard", "from xclip \xc3\xbc \xe2\x82\xac");
  ASSERT_TRUE(wait_until([&] { return !changes_.empty(); }, 5s, [&] { pump(); }));
  EXPECT_EQ(changes_[0], "from xclip \xfc ?");  // The euro sign has no Latin-1 form.

  // PRIMARY is followed too.
  auto primary = xclip_in("primary", "selected words");
  ASSERT_TRUE(wait_until([&] { return changes_.size() >= 2; }, 5s, [&] { pump(); }));
  EXPECT_EQ(changes_[1], "selected words");

  // Taking the clipboard back ends xclip's ownership (and xclip itself).
  clipboard_->set_text("ours again");
  EXPECT_TRUE(wait_until([&] { return owner->wait_exit(0ms); }, 5s, [&] { pump(); }));
  EXPECT_EQ(xclip_out("clipboard"), "ours again");
  EXPECT_EQ(changes_.size(), 2u);
}

TEST_F(X11ClipboardTest, TextOverTheLimitIsIgnored) {
  auto big = xclip_in("clipboard", std::string(kMaxClipboardBytes + 1000, 'x'));
  EXPECT_FALSE(wait_until([&] { return !changes_.empty(); }, 1500ms, [&] { pump(); }));
  auto small = xclip_in("clipboard", "small after big");
  ASSERT_TRUE(wait_until([&] { return !changes_.empty(); }, 5s, [&] { pump(); }));
  EXPECT_EQ(changes_, (std::vector<std::string>{"small after big"}));
}

TEST_F(X11ClipboardTest, TextJustUnderTheLimitArrivesWhole) {
  std::string text(kMaxClipboardBytes - 10, 'y');
  text[12345] = 'z';
  auto owner = xclip_in("clipboard", text);
  ASSERT_TRUE(wait_until([&] { return !changes_.empty(); }, 5s, [&] { pump(); }));
  EXPECT_EQ(changes_[0], text);
}

TEST_F(X11ClipboardTest, IncrTransfersAreReassembled) {
  std::string text;
  for (int i = 0; i < 40000; ++i) text += "line " + std::to_string(i) + "\n";
  ASSERT_GT(text.size(), 256u * 1024);
  IncrOwner owner(xvfb_->display(), text, static_cast<long>(text.size()), 64 * 1024);
  ASSERT_TRUE(wait_until([&] { return !changes_.empty(); }, 10s,
                         [&] {
                           owner.pump();
                           pump();
                         }));
  EXPECT_TRUE(owner.finished());
  EXPECT_EQ(changes_[0], text);
}

TEST_F(X11ClipboardTest, IncrOverTheLimitIsDropped) {
  // Announced honestly: refused at once.
  IncrOwner announced(xvfb_->display(), std::string(kMaxClipboardBytes + 1, 'a'),
                      static_cast<long>(kMaxClipboardBytes + 1), 256 * 1024);
  EXPECT_FALSE(wait_until([&] { return !changes_.empty(); }, 1s,
                          [&] {
                            announced.pump();
                            pump();
                          }));
  // Understated: dropped once the chunks pass the limit.
  IncrOwner understated(xvfb_->display(), std::string(kMaxClipboardBytes + 100000, 'b'), 1000,
                        256 * 1024);
  EXPECT_FALSE(wait_until([&] { return !changes_.empty(); }, 1500ms,
                          [&] {
                            understated.pump();
                            pump();
                          }));
  auto small = xclip_in("clipboard", "small after incr");
  ASSERT_TRUE(wait_until([&] { return !changes_.empty(); }, 5s, [&] { pump(); }));
  EXPECT_EQ(changes_, (std::vector<std::string>{"small after incr"}));
}

}  // namespace
}  // namespace vncd::platform
