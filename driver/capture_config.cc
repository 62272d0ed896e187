#include "driver/capture_config.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "driver/pcap_writer.h"

namespace shunt {

std::string expand_capture_path(std::string_view path, int pid) {
  std::string out;
  out.reserve(path.size() + 8);
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 1 < path.size() && path[i + 1] == 'p') {
      out += std::to_string(pid);
      ++i;
    } else {
      out += path[i];
    }
  }
  return out;
}

Expected<std::unique_ptr<CaptureDevice>, std::string> open_capture(
    std::unique_ptr<NetDevice> device, std::string_view path, CaptureFilter filter,
    CaptureDevice::FlushPolicy flush) {
  const std::string file = expand_capture_path(path, static_cast<int>(::getpid()));
  auto writer = PcapWriter::open(file, PcapWriter::kDefaultSnaplen, capture_format_for_path(file));
  if (!writer.ok()) {
    return fmt::format("{}={}: {}: set it to a writable file, or unset it for no capture", kPcapEnv,
                       std::string(path), writer.error());
  }
  auto capture = std::make_unique<CaptureDevice>(std::move(device), std::move(*writer),
                                                 realtime_offset_from_monotonic_ns(), flush);
  capture->set_filter(std::move(filter));
  return capture;
}

Expected<std::unique_ptr<NetDevice>, std::string> with_capture(std::unique_ptr<NetDevice> device,
                                                               std::string_view path,
                                                               CaptureDevice::FlushPolicy flush) {
  if (path.empty()) return device;
  auto capture = open_capture(std::move(device), path, {}, flush);
  if (!capture.ok()) return capture.error();
  std::unique_ptr<NetDevice> dev = std::move(*capture);
  return dev;
}

Expected<CaptureFilter, std::string> capture_filter_from_env() {
  const char* v = ::secure_getenv(kPcapFilterEnv);
  auto f = parse_capture_filter(v != nullptr ? v : "");
  if (!f.ok()) {
    return fmt::format("{} (--pcap-filter): {}; see docs/faults.md", kPcapFilterEnv, f.error());
  }
  return f;
}

Expected<std::unique_ptr<NetDevice>, std::string> with_capture_from_env(
    std::unique_ptr<NetDevice> device, CaptureDevice::FlushPolicy flush) {
  const char* path = ::secure_getenv(kPcapEnv);
  if (path == nullptr || *path == '\0') return device;
  auto filter = capture_filter_from_env();
  if (!filter.ok()) return filter.error();
  auto capture = open_capture(std::move(device), path, std::move(*filter), flush);
  if (!capture.ok()) return capture.error();
  std::unique_ptr<NetDevice> dev = std::move(*capture);
  return dev;
}

}  // namespace shunt
