// Transports (a byte stream to one client: TCP, or in memory for tests) and the TCP listener.
// Each object is owned by one session or the server and used on the loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rfb/result.h"
#include "rfb/transport.h"
#include "server/event_loop.h"

namespace vncd::server {

// The transport interface lives in the protocol core (rfb/transport.h) so that the security
// layer can decorate it; the server keeps its old name for it.
using Transport = rfb::Transport;

// A connected TCP socket (made non-blocking with TCP_NODELAY by the constructor).
class TcpTransport final : public Transport {
 public:
  TcpTransport(UniqueFd fd, std::string peer);
  Result<size_t> read(std::span<uint8_t> buf) override;
  Result<size_t> write(std::span<const uint8_t> data) override;
  void close() override { fd_.reset(); }
  int fd() const override { return fd_.get(); }
  std::string peer() const override { return peer_; }

 private:
  UniqueFd fd_;
  std::string peer_;
};

// An in-memory stream for tests: the test pushes client bytes in and takes server bytes out.
// write() accepts at most write_capacity bytes until the test drains them (a slow client).
class MemoryTransport final : public Transport {
 public:
  explicit MemoryTransport(std::string peer = "memory") : peer_(std::move(peer)) {}

  Result<size_t> read(std::span<uint8_t> buf) override;
  Result<size_t> write(std::span<const uint8_t> data) override;
  void close() override { closed_ = true; }
  int fd() const override { return -1; }
  std::string peer() const override { return peer_; }

  // Test side.
  void push_input(std::span<const uint8_t> bytes) {
    input_.insert(input_.end(), bytes.begin(), bytes.end());
  }
  // The client closed its end: reads fail once the pushed input is consumed.
  void close_input() { input_eof_ = true; }
  std::vector<uint8_t> take_output() { return std::exchange(output_, {}); }
  size_t output_size() const { return output_.size(); }
  void set_write_capacity(size_t bytes) { write_capacity_ = bytes; }
  bool closed() const { return closed_; }

 private:
  std::string peer_;
  std::deque<uint8_t> input_;
  std::vector<uint8_t> output_;
  size_t write_capacity_ = SIZE_MAX;
  bool input_eof_ = false;
  bool closed_ = false;
};

// A listening TCP socket.
class TcpListener {
 public:
  // Binds ADDRESS:PORT: an IPv4 or IPv6 literal ("0.0.0.0", "::" which also accepts IPv4,
  // "127.0.0.1", "::1"), "localhost" (127.0.0.1) or a host name. Port 0 picks a free port
  // (see port()). SO_REUSEADDR, non-blocking. Errors read "port 5900 is already in use" or
  // "cannot listen on ADDR:PORT: why".
  static Result<TcpListener> listen(const std::string& address, int port);

  int fd() const { return fd_.get(); }
  // The port actually bound.
  int port() const { return port_; }
  // "ADDR:PORT" as bound, for the log.
  const std::string& address() const { return address_; }

  // Accepts one pending connection; nullptr when none is pending. An error is a problem with
  // the listener or the system (out of fds), not with one client.
  Result<std::unique_ptr<Transport>> accept();

 private:
  TcpListener(UniqueFd fd, int port, std::string address)
      : fd_(std::move(fd)), port_(port), address_(std::move(address)) {}
  UniqueFd fd_;
  int port_ = 0;
  std::string address_;
};

}  // namespace vncd::server
