#include "control/path.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

namespace shunt::control {

std::string control_dir() {
  // secure_getenv: a setuid process must not be steered to another
  // directory (it gets no stack anyway, docs/design.md 6).
  if (const char* d = secure_getenv("SHUNT_CONTROL_DIR"); d != nullptr && *d != '\0') return d;
  if (const char* x = secure_getenv("XDG_RUNTIME_DIR"); x != nullptr && *x != '\0') {
    return std::string(x) + "/shunt";
  }
  return kSystemDir;
}

Expected<void, std::string> ensure_control_dir(const std::string& dir, bool shared) {
  struct stat st{};
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return fmt::format("{} exists and is not a directory", dir);
    return {};
  }
  const mode_t mode = shared ? 01777 : 0700;
  if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    return fmt::format("cannot create {}: {}", dir, std::strerror(errno));
  }
  if (shared) chmod(dir.c_str(), mode);  // mkdir's mode went through the umask
  return {};
}

Expected<void, std::string> ensure_control_dir(const std::string& dir) {
  return ensure_control_dir(dir, dir == kSystemDir);
}

std::string socket_path(const std::string& dir, int pid) {
  return dir + "/" + std::to_string(pid) + ".sock";
}

std::optional<int> pid_of_socket_name(const std::string& name) {
  constexpr std::string_view kSuffix = ".sock";
  if (name.size() <= kSuffix.size() || name.size() > 10 + kSuffix.size()) return std::nullopt;
  if (name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) return std::nullopt;
  long v = 0;
  for (size_t i = 0; i + kSuffix.size() < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + (name[i] - '0');
  }
  if (v <= 0 || v > 0x3fffffff) return std::nullopt;
  return static_cast<int>(v);
}

std::vector<int> list_pids(const std::string& dir) {
  std::vector<int> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (auto p = pid_of_socket_name(e->d_name)) out.push_back(*p);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace shunt::control
