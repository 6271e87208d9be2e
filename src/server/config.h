// ServerConfig: everything the server needs to know from the command line, as plain values.
// Built by main from the flags; read-only once the server runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rfb/messages.h"

namespace vncd::server {

// How ClientInit's shared flag is treated (TigerVNC's AlwaysShared / NeverShared /
// DisconnectClients semantics).
enum class SharePolicy : uint8_t {
  kClientDecides,  // A non-shared client disconnects the others (default).
  kAlwaysShared,   // --shared: every client is treated as shared.
  kNeverShared,    // --never-shared: a non-shared request while others are connected is refused.
};

struct ServerConfig {
  std::string listen_address = "0.0.0.0";  // --listen ADDR; --localhost sets 127.0.0.1.
  int port = 5900;                         // --port; 0 picks a free port (printed on stdout).
  std::string desktop_name;                // --name; default "vncd: <user>@<host> <display>".
  bool view_only = false;                  // --view-only: input and clipboard from clients ignored.
  SharePolicy share_policy = SharePolicy::kClientDecides;
  bool dont_disconnect = false;  // --dont-disconnect: a non-shared client is refused instead of
                                 // disconnecting the others.
  bool once = false;             // --once: exit when the first client has gone.
  int max_fps = 60;              // Upper bound on updates per second per client.
  // While changes are large (the last capture changed a quarter of the screen or more: video, a
  // full redraw), a capture waits until no new damage has been reported for this long (at most
  // four times this after the first report), so that a frame the application draws in several
  // requests goes out whole, as one update, not a half-drawn one followed by the rest. Small
  // changes (typing, a click's answer) are captured at once, and so are changes that already
  // span the whole screen (FrameSource::changes_cover_screen: XDamage reports nothing more).
  int capture_settle_ms = 2;
  int threads = 0;                     // Encoding threads; 0: one per core.
  int handshake_timeout_s = 30;        // Unauthenticated connections are closed after this.
  int auth_failure_delay_ms = 1000;    // Before a failed authentication is reported.
  size_t max_output_queue = 8u << 20;  // Bytes queued for a client before updates pause.
  int max_clients = 100;
  rfb::MessageLimits limits;
  // Access control (server/access_control.h).
  int blacklist_threshold = 5;   // Failed authentications before an address is blocked; 0: off.
  int blacklist_timeout_s = 10;  // First block; doubles on each further failure.
  int max_unauthenticated_per_address = 5;  // Connections still authenticating; 0: no limit.
  int idle_timeout_ms = 0;  // A normal client that sends nothing this long is closed; 0: off.
  std::vector<std::string> allow;  // --allow CIDR ranges; empty: every address not denied.
  std::vector<std::string> deny;   // --deny CIDR ranges; deny wins over allow.
};

}  // namespace vncd::server
