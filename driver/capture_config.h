// Packet capture from the configuration: SHUNT_PCAP=FILE wraps whatever
// device the process uses in a CaptureDevice that writes every frame, in and
// out, to FILE (readable by tcpdump, tshark and Wireshark): pcapng when FILE
// ends in ".pcapng", with the faults as packet comments; classic pcap
// otherwise. SHUNT_PCAP_FILTER=EXPR keeps only the frames EXPR matches
// (capture_filter.h). The preload runtime calls open_capture() with its
// parsed settings; the kernel tests and benchmarks call with_capture() with
// a path of their own, or with_capture_from_env().
//
//   auto tap = TapDevice::open(options, pool);
//   auto dev = with_capture_from_env(std::move(*tap));
//   if (!dev.ok()) { fprintf(stderr, "shunt: %s\n", dev.error().c_str()); exit(1); }
//   Stack stack(**dev, pool, config);
//
// - "%p" in the path is replaced by the process id, so that every process
//   of a preloaded program tree (a forking server) writes its own file:
//   SHUNT_PCAP=/tmp/shunt-%p.pcap.
// - The file is created (or truncated) at once; a path that cannot be
//   written is a configuration error (docs/design.md section 9): the error is one
//   line naming the setting, the file and the reason, and the caller stops.
//   The device passed in is destroyed in that case.
// - The capture wraps the device itself, so it records what crossed the
//   wire; put a RuleFaultDevice outside it to capture after the faults (see
//   capture_device.h on placement).
// - Timestamps are Unix time: the device's Instants are taken as
//   CLOCK_MONOTONIC (the runtime's and StackRunner's time line) and the
//   offset to CLOCK_REALTIME is read once, here.
// - The environment is read with secure_getenv(3): a setuid program ignores
//   SHUNT_PCAP (docs/design.md section 6).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "driver/capture_device.h"
#include "stack/base/result.h"
#include "stack/net/device.h"

namespace shunt {

inline constexpr const char* kPcapEnv = "SHUNT_PCAP";
inline constexpr const char* kPcapFilterEnv = "SHUNT_PCAP_FILTER";

// `path` with every "%p" replaced by `pid`.
std::string expand_capture_path(std::string_view path, int pid);

// Creates the file `path` (after expand_capture_path with this process's
// id; its format from capture_format_for_path) and wraps `device` in a
// CaptureDevice that writes the frames `filter` keeps. The error is one line
// starting "SHUNT_PCAP=PATH: "; `device` is destroyed then.
Expected<std::unique_ptr<CaptureDevice>, std::string> open_capture(
    std::unique_ptr<NetDevice> device, std::string_view path, CaptureFilter filter = {},
    CaptureDevice::FlushPolicy flush = CaptureDevice::FlushPolicy::kEveryBatch);

// The filter in SHUNT_PCAP_FILTER (unset or blank: an empty filter). The
// error is one line naming the setting.
Expected<CaptureFilter, std::string> capture_filter_from_env();

// Wraps `device` in a CaptureDevice writing `path` (after expand_capture_path
// with this process's id); returns `device` unchanged when `path` is empty.
Expected<std::unique_ptr<NetDevice>, std::string> with_capture(
    std::unique_ptr<NetDevice> device, std::string_view path,
    CaptureDevice::FlushPolicy flush = CaptureDevice::FlushPolicy::kEveryBatch);

// with_capture() with the path in SHUNT_PCAP (unset or empty: no capture)
// and the filter in SHUNT_PCAP_FILTER.
Expected<std::unique_ptr<NetDevice>, std::string> with_capture_from_env(
    std::unique_ptr<NetDevice> device,
    CaptureDevice::FlushPolicy flush = CaptureDevice::FlushPolicy::kEveryBatch);

}  // namespace shunt
