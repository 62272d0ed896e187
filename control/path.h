// Where a preloaded process serves its control socket (docs/control.md),
// shared by libshunt.so (the server) and the `shunt` command (the client):
//
//   SHUNT_CONTROL_DIR            if set
//   $XDG_RUNTIME_DIR/shunt       if XDG_RUNTIME_DIR is set (a per-user 0700 dir)
//   /run/shunt                   otherwise (mode 1777, like /tmp)
//
// and the socket is <dir>/<pid>.sock, mode 0600.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "stack/base/result.h"

namespace shunt::control {

// The directory this process would use, from its environment.
std::string control_dir();
std::string socket_path(const std::string& dir, int pid);
inline constexpr const char* kSystemDir = "/run/shunt";
// Creates `dir` if it is missing: mode 1777 (sticky, shared by every user,
// like /tmp) when `shared`, 0700 otherwise. An existing directory is left
// as it is. The error names the directory and the reason.
Expected<void, std::string> ensure_control_dir(const std::string& dir, bool shared);
// ensure_control_dir(dir, dir == kSystemDir): what the runtime calls.
Expected<void, std::string> ensure_control_dir(const std::string& dir);
// The pid a socket file name stands for ("1234.sock" -> 1234).
std::optional<int> pid_of_socket_name(const std::string& name);
// Every <pid>.sock in `dir`, by pid (stale ones included: the caller tries
// them).
std::vector<int> list_pids(const std::string& dir);

}  // namespace shunt::control
