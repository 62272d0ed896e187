// The control socket of a preloaded process (docs/control.md): an AF_UNIX
// stream socket at <control_dir>/<pid>.sock, mode 0600, served by a thread
// of its own so that a slow client never delays the stack thread.
//
// One request per connection: the client writes one line (a command such as
// "ss" or "fault add both drop 2%") and reads the reply (one JSON document)
// until EOF. Only a peer with our uid, or root, is answered (SO_PEERCRED, on
// top of the file mode).
//
// Fork: the thread does not survive fork(). The process that keeps the stack
// keeps the server; the other one calls abandon() (closes its copy of the
// listening socket, leaves the file to its owner), and a child that takes
// the stack (SHUNT_FORK=child) starts a server of its own under its pid.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "stack/base/result.h"

namespace shunt::control {

class ControlServer {
 public:
  using Handler = std::function<std::string(std::string_view request)>;
  static constexpr size_t kMaxRequest = 64 * 1024;

  // Creates the directory if needed, binds <dir>/<pid>.sock and starts the
  // thread. The error is one line naming the path and the reason.
  static Expected<std::unique_ptr<ControlServer>, std::string> start(const std::string& dir, int pid,
                                                                     Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Stops serving and removes the socket file.
  void stop();
  // After fork in the process that does not own the server: forget it
  // without touching the file or the (parent's) thread.
  void abandon();
  int fd() const { return shared_->fd; }
  const std::string& path() const { return shared_->path; }

 private:
  // What the thread uses: shared, so that the thread may finish a request
  // after the ControlServer is gone (stop() does not wait for a request
  // blocked on the runtime lock, which its caller may hold).
  struct Shared {
    int fd = -1;
    std::string path;
    Handler handler;
    std::atomic<bool> stopping{false};
  };
  explicit ControlServer(std::shared_ptr<Shared> s) : shared_(std::move(s)) {}
  static void run(const std::shared_ptr<Shared>& s);
  static void serve_one(Shared& s, int conn);

  std::shared_ptr<Shared> shared_;
};

}  // namespace shunt::control
