// Transport: the byte stream to one client (TCP, in memory for tests, or TLS decorating either),
// as the server and the security layer see it. Owned by one session; loop thread only.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "rfb/result.h"

namespace vncd::rfb {

// A non-blocking byte stream to one client. Small on purpose: a TLS decorator (VeNCrypt) wraps
// another Transport and presents the same interface.
class Transport {
 public:
  virtual ~Transport() = default;

  // Reads up to buf.size() bytes. Returns the number read, 0 when nothing is available now, or
  // an error (the peer closed the stream, or the stream failed) after which the transport is dead.
  virtual Result<size_t> read(std::span<uint8_t> buf) = 0;
  // Writes a prefix of `data`. Returns the number written (0 when the stream cannot take more
  // now), or an error after which the transport is dead.
  virtual Result<size_t> write(std::span<const uint8_t> data) = 0;
  // Closes the stream; reads and writes fail afterwards. Idempotent.
  virtual void close() = 0;

  // The fd whose readiness drives this transport, or -1 when it is not fd-based (tests drive
  // such transports by hand).
  virtual int fd() const = 0;
  // Whether read() can return data without the fd becoming readable (bytes a decorator has
  // already decrypted and buffered).
  virtual bool has_buffered_input() const { return false; }
  // Whether the owner should wait for the fd to become writable, given whether it has bytes for
  // write() (`have_output`). A decorator in the middle of its own handshake answers from what the
  // handshake waits for: watching for writable while it waits to read would spin the loop.
  virtual bool wants_writable(bool have_output) const { return have_output; }
  // "ADDR:PORT" ("[ADDR]:PORT" for IPv6) for the log.
  virtual std::string peer() const = 0;
};

}  // namespace vncd::rfb
