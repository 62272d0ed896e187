// Child processes for `shunt ab`: servers and clients started in a network
// namespace (setns before exec, as `ip netns exec` does), each in its own
// process group with its output in files; waits bounded by a timeout and
// cut short by SIGINT/SIGTERM/SIGHUP; CPU time from wait4's rusage (the
// child and every descendant it waited for).
//
// The parent blocks SIGINT, SIGTERM and SIGHUP for its whole run and reads
// them from a signalfd (SignalWatch), so that a Ctrl-C interrupts a wait
// and the caller stops its servers and lab in order. Children get the
// default mask back before exec, and PR_SET_PDEATHSIG(SIGKILL), so nothing
// outlives a `shunt ab` that was killed outright.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/result.h"

namespace shunt::ab {

// Blocks SIGINT, SIGTERM and SIGHUP and watches them with a signalfd for as
// long as it lives (one at a time).
class SignalWatch {
 public:
  SignalWatch();
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

  int fd() const { return fd_; }
  // Reads a pending signal, if any; once one came, fired() stays true.
  bool poll();
  bool fired() const { return signal_ != 0; }
  int signal() const { return signal_; }

 private:
  int fd_ = -1;
  int signal_ = 0;
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::string netns;              // a /run/netns name; empty: ours
  std::string stdout_path;        // created or truncated; empty: /dev/null
  std::string stderr_path;
  std::string cwd;               // empty: ours
  std::vector<std::string> env;  // extra NAME=VALUE
};

struct ExitInfo {
  int status = 0;  // as from waitpid
  double wall_s = 0;
  double cpu_s = 0;  // user + system, the child and its reaped descendants
};

enum class WaitOutcome { kExited, kTimedOut, kInterrupted };

// "exit status 1", "killed by signal 9 (Killed)".
std::string describe_status(int status);

class Process {
 public:
  // Starts the program; an error (one line) if it cannot run at all (no
  // such program, no such namespace).
  static Expected<Process, std::string> spawn(const SpawnOptions& o);

  Process(Process&& o) noexcept;
  Process& operator=(Process&&) = delete;
  Process(const Process&) = delete;
  ~Process();  // stop() if still running

  pid_t pid() const { return pid_; }
  bool exited() const { return exited_; }
  const ExitInfo& exit_info() const { return info_; }

  // Waits up to `timeout` for the exit (reaps it and fills exit_info()),
  // or until `signals` fires.
  WaitOutcome wait(std::chrono::milliseconds timeout, SignalWatch* signals);
  // True while running; reaps it if it has exited.
  bool running();
  // SIGTERM to the process group, up to `grace` for the exit, then SIGKILL;
  // reaped either way. Nothing if it has exited.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

 private:
  Process(pid_t pid, int pidfd, std::chrono::steady_clock::time_point start)
      : pid_(pid), pidfd_(pidfd), start_(start) {}
  void reap();

  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::chrono::steady_clock::time_point start_;
  bool exited_ = false;
  ExitInfo info_;
};

// Reads a file as seen from inside a network namespace (e.g.
// /proc/self/net/snmp): a child setns()es and reads it; 5 s at most.
struct FileText {
  std::string text;
};
Expected<FileText, std::string> read_in_netns(std::string_view netns, const std::string& path);

// The full path of `program` found in PATH, or nullopt.
std::optional<std::string> find_program(std::string_view program);

// The whole file, or nullopt.
std::optional<std::string> read_file(const std::string& path);

}  // namespace shunt::ab
