#include "server/tcp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vncd::server {

namespace {

// Bytes handed to one send() call: large enough to fill a socket buffer, small enough that one
// huge update does not hold the loop inside the kernel.
constexpr size_t kMaxWriteChunk = 1u << 20;

std::string format_address(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    // Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; show them as plain IPv4.
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      ::inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof host);
      return std::string(host) + ":" + std::to_string(ntohs(in6->sin6_port));
    }
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "unknown";
}

}  // namespace

TcpTransport::TcpTransport(UniqueFd fd, std::string peer)
    : fd_(std::move(fd)), peer_(std::move(peer)) {
  int flags = ::fcntl(fd_.get(), F_GETFL);
  if (flags >= 0) ::fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK);
  // Small messages (input echo, update requests answered with small updates) must not wait for
  // Nagle's timer.
  int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Result<size_t> TcpTransport::read(std::span<uint8_t> buf) {
  if (!fd_) return Error("connection closed");
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n > 0) return static_cast<size_t>(n);
    if (n == 0) return Error("connection closed by client");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
    return Error(std::string("read error: ") + std::strerror(errno));
  }
}

Result<size_t> TcpTransport::write(std::span<const uint8_t> data) {
  if (!fd_) return Error("connection closed");
  size_t len = std::min(data.size(), kMaxWriteChunk);
  for (;;) {
    ssize_t n = ::send(fd_.get(), data.data(), len, MSG_NOSIGNAL);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
    return Error(std::string("write error: ") + std::strerror(errno));
  }
}

Result<size_t> MemoryTransport::read(std::span<uint8_t> buf) {
  if (closed_) return Error("connection closed");
  if (input_.empty()) {
    if (input_eof_) return Error("connection closed by client");
    return size_t{0};
  }
  size_t n = std::min(buf.size(), input_.size());
  std::copy_n(input_.begin(), n, buf.begin());
  input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(n));
  return n;
}

Result<size_t> MemoryTransport::write(std::span<const uint8_t> data) {
  if (closed_) return Error("connection closed");
  size_t room = write_capacity_ > output_.size() ? write_capacity_ - output_.size() : 0;
  size_t n = std::min(room, data.size());
  output_.insert(output_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
  return n;
}

Result<TcpListener> TcpListener::listen(const std::string& address, int port) {
  std::string where = address + ":" + std::to_string(port);
  if (address.find(':') != std::string::npos) where = "[" + address + "]:" + std::to_string(port);
  if (port < 0 || port > 65535) return Error("cannot listen on " + where + ": invalid port");

  // "localhost" may resolve to ::1 first, which IPv4-only viewers would miss; 127.0.0.1 is what
  // users mean by it (TigerVNC's -localhost does the same).
  std::string host = address == "localhost" ? "127.0.0.1" : address;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) return Error("cannot listen on " + where + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);

  std::string last_error = "no usable address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      last_error = std::strerror(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) {
      // "::" serves IPv4 clients too, whatever the system default says.
      int zero = 0;
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    }
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno == EADDRINUSE) return Error("port " + std::to_string(port) + " is already in use");
      last_error = std::strerror(errno);
      continue;
    }
    if (::listen(fd.get(), SOMAXCONN) != 0) {
      if (errno == EADDRINUSE) return Error("port " + std::to_string(port) + " is already in use");
      last_error = std::strerror(errno);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int bound_port = bound.ss_family == AF_INET
                         ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                         : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    return TcpListener(std::move(fd), bound_port,
                       format_address(reinterpret_cast<const sockaddr*>(&bound)));
  }
  return Error("cannot listen on " + where + ": " + last_error);
}

Result<std::unique_ptr<Transport>> TcpListener::accept() {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      return std::unique_ptr<Transport>(std::make_unique<TcpTransport>(
          UniqueFd(fd), format_address(reinterpret_cast<const sockaddr*>(&peer))));
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::unique_ptr<Transport>();
    // The client gave up before we accepted it: not the listener's problem, try the next one.
    if (errno == ECONNABORTED || errno == EPROTO) continue;
    return Error(std::string("accept: ") + std::strerror(errno));
  }
}

}  // namespace vncd::server
