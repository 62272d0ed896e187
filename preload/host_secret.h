// The secret behind TCP's ISNs and timestamp offsets, shared by every shunt
// process of one user until reboot (StackConfig::tcp_secret), as Linux's
// per-boot secret is shared by every socket of the host.
//
// It lives in <control dir>/tcp-secret-<uid> (control/path.h: a tmpfs such
// as $XDG_RUNTIME_DIR or /run, so it is new after every boot), mode 0600, 16
// random bytes, created by the first process that needs it (written to a
// temporary file and linked into place, so a reader never sees half of it).
#pragma once

#include <optional>
#include <string>

#include "stack/base/random.h"

namespace shunt::preload {

// The secret, or nullopt (with the reason in `why`) when the directory
// cannot be used; the caller then keeps a per-process secret.
// On failure `why` says why; `refused` is set when a file exists but may
// not be trusted (another owner, readable by others): worth a warning.
std::optional<SipKey> host_tcp_secret(const std::string& dir, std::string& why, bool& refused);

}  // namespace shunt::preload
