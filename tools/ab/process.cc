#include "tools/ab/process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace shunt::ab {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

// Why a child could not exec, sent back over a close-on-exec pipe.
struct ChildError {
  int stage;  // index into kStages
  int err;
};
constexpr const char* kStages[] = {"entering network namespace", "changing directory",
                                   "opening its output file", "executing"};

[[noreturn]] void child_fail(int fd, int stage) {
  ChildError e{stage, errno};
  (void)!write(fd, &e, sizeof e);
  _exit(127);
}

int open_output(const std::string& path) {
  if (path.empty()) return open("/dev/null", O_WRONLY | O_CLOEXEC);
  return open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

// The environment with `extra` (NAME=VALUE) replacing or adding entries.
std::vector<std::string> make_env(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    const std::string_view name = kv.substr(0, kv.find('='));
    bool replaced = false;
    for (const std::string& x : extra) replaced |= x.starts_with(std::string(name) + "=");
    if (!replaced) env.emplace_back(kv);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int open_netns_fd(std::string_view name, std::string* error) {
  const std::string path = fmt::format("/run/netns/{}", name);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error =
        fmt::format("network namespace {}: cannot open {}: {}", name, path, std::strerror(errno));
  }
  return fd;
}

}  // namespace

SignalWatch::SignalWatch() {
  sigset_t set = watched_signals();
  sigprocmask(SIG_BLOCK, &set, nullptr);
  fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

SignalWatch::~SignalWatch() {
  if (fd_ >= 0) close(fd_);
  sigset_t set = watched_signals();
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

bool SignalWatch::poll() {
  signalfd_siginfo si{};
  while (fd_ >= 0 && read(fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (signal_ == 0) signal_ = static_cast<int>(si.ssi_signo);
  }
  return fired();
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  }
  return fmt::format("wait status {:#x}", status);
}

std::optional<std::string> find_program(std::string_view program) {
  if (program.empty()) return std::nullopt;
  if (program.find('/') != std::string_view::npos) {
    std::string p(program);
    if (access(p.c_str(), X_OK) == 0) return p;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const size_t colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    const std::string cand =
        fmt::format("{}/{}", dir.empty() ? std::string_view(".") : dir, program);
    if (access(cand.c_str(), X_OK) == 0) return cand;
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Expected<Process, std::string> Process::spawn(const SpawnOptions& o) {
  if (o.argv.empty()) return std::string("no command given");
  auto program = find_program(o.argv[0]);
  if (!program) return fmt::format("cannot run '{}': not found in PATH", o.argv[0]);

  std::string error;
  int netns_fd = -1;
  if (!o.netns.empty()) {
    netns_fd = open_netns_fd(o.netns, &error);
    if (netns_fd < 0) return error;
  }
  std::vector<std::string> args = o.argv;
  std::vector<std::string> env = make_env(o.env);
  std::vector<char*> argv = c_strings(args);
  std::vector<char*> envp = c_strings(env);

  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) != 0) {
    if (netns_fd >= 0) close(netns_fd);
    return fmt::format("pipe: {}", std::strerror(errno));
  }
  const pid_t parent = getpid();
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(errpipe[0]);
    close(errpipe[1]);
    if (netns_fd >= 0) close(netns_fd);
    return fmt::format("fork: {}", std::strerror(err));
  }
  if (pid == 0) {
    // The child: only async-signal-safe calls from here to exec.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) != 0) child_fail(errpipe[1], 0);
    if (!o.cwd.empty() && chdir(o.cwd.c_str()) != 0) child_fail(errpipe[1], 1);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = open_output(o.stdout_path);
    int err = open_output(o.stderr_path);
    if (in < 0 || out < 0 || err < 0) child_fail(errpipe[1], 2);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execve(program->c_str(), argv.data(), envp.data());
    child_fail(errpipe[1], 3);
  }
  setpgid(pid, pid);  // also here: no race with a kill of the group
  close(errpipe[1]);
  if (netns_fd >= 0) close(netns_fd);
  ChildError ce{};
  ssize_t n;
  do {
    n = read(errpipe[0], &ce, sizeof ce);
  } while (n < 0 && errno == EINTR);
  close(errpipe[0]);
  if (n == static_cast<ssize_t>(sizeof ce)) {
    waitpid(pid, nullptr, 0);
    const int stage = ce.stage >= 0 && ce.stage < 4 ? ce.stage : 3;
    return fmt::format("cannot run '{}': {}: {}", o.argv[0], kStages[stage], std::strerror(ce.err));
  }
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  return Process(pid, pidfd, start);
}

Process::Process(Process&& o) noexcept
    : pid_(o.pid_), pidfd_(o.pidfd_), start_(o.start_), exited_(o.exited_), info_(o.info_) {
  o.pid_ = -1;
  o.pidfd_ = -1;
  o.exited_ = true;
}

Process::~Process() {
  if (pid_ > 0 && !exited_) stop();
  if (pidfd_ >= 0) close(pidfd_);
}

void Process::reap() {
  int status = 0;
  rusage ru{};
  pid_t r;
  do {
    r = wait4(pid_, &status, 0, &ru);
  } while (r < 0 && errno == EINTR);
  exited_ = true;
  info_.status = status;
  info_.wall_s = std::chrono::duration<double>(Clock::now() - start_).count();
  info_.cpu_s = seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

bool Process::running() {
  if (exited_) return false;
  siginfo_t si{};
  if (waitid(P_PID, static_cast<id_t>(pid_), &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
      si.si_pid == pid_) {
    // It has exited; what it left in its group goes too (the group id
    // cannot be reused while it is a zombie), then it is reaped.
    kill(-pid_, SIGKILL);
    reap();
    return false;
  }
  return true;
}

WaitOutcome Process::wait(milliseconds timeout, SignalWatch* signals) {
  const auto deadline = Clock::now() + timeout;
  while (running()) {
    if (signals != nullptr && signals->poll()) return WaitOutcome::kInterrupted;
    const auto now = Clock::now();
    if (now >= deadline) return WaitOutcome::kTimedOut;
    auto left = std::chrono::duration_cast<milliseconds>(deadline - now).count() + 1;
    pollfd fds[2];
    nfds_t nfds = 0;
    if (pidfd_ >= 0) {
      fds[nfds++] = {pidfd_, POLLIN, 0};
    } else {
      left = std::min<long long>(left, 10);  // no pidfd: look every 10 ms
    }
    if (signals != nullptr && signals->fd() >= 0) fds[nfds++] = {signals->fd(), POLLIN, 0};
    poll(fds, nfds, static_cast<int>(std::min<long long>(left, 1000)));
  }
  return WaitOutcome::kExited;
}

void Process::stop(milliseconds grace) {
  if (exited_ || pid_ <= 0) return;
  kill(-pid_, SIGTERM);
  kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + grace;
  while (Clock::now() < deadline) {
    siginfo_t si{};
    if (waitid(P_PID, static_cast<id_t>(pid_), &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        si.si_pid == pid_) {
      break;
    }
    pollfd p{pidfd_, POLLIN, 0};
    if (pidfd_ >= 0) {
      poll(&p, 1, 50);
    } else {
      usleep(10000);
    }
  }
  // Whatever is left of the group (the leader is a zombie at worst, so its
  // id still names only our processes), then reap.
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  reap();
}

Expected<FileText, std::string> read_in_netns(std::string_view netns, const std::string& path) {
  std::string error;
  const int nsfd = open_netns_fd(netns, &error);
  if (nsfd < 0) return error;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    close(nsfd);
    return fmt::format("pipe: {}", std::strerror(errno));
  }
  const pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char status = 'E';
    if (setns(nsfd, CLONE_NEWNET) != 0) {
      (void)!write(p[1], &status, 1);
      _exit(1);
    }
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      (void)!write(p[1], &status, 1);
      _exit(1);
    }
    status = 'O';
    (void)!write(p[1], &status, 1);
    char buf[8192];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
      if (write(p[1], buf, static_cast<size_t>(n)) != n) _exit(1);
    }
    _exit(0);
  }
  close(p[1]);
  close(nsfd);
  if (pid < 0) {
    close(p[0]);
    return fmt::format("fork: {}", std::strerror(errno));
  }
  std::string data;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  bool timed_out = false;
  while (true) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd pf{p[0], POLLIN, 0};
    if (poll(&pf, 1, static_cast<int>(left)) <= 0) continue;
    char buf[8192];
    const ssize_t n = read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(p[0]);
  if (timed_out) kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  if (timed_out) return fmt::format("reading {} in namespace {} took more than 5 s", path, netns);
  if (data.empty() || data[0] != 'O') {
    return fmt::format("cannot read {} in network namespace {}", path, netns);
  }
  return FileText{data.substr(1)};
}

}  // namespace shunt::ab
