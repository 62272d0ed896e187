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

Expected<std::unique_ptr<NetDevice>, std::string> with_capture(std::unique_ptr<NetDevice> device,
                                                               std::string_view path,
                                                               CaptureDevice::FlushPolicy flush) {
  if (path.empty()) return device;
  const std::string file = expand_capture_path(path, static_cast<int>(::getpid()));
  auto writer = PcapWriter::open(file);
  if (!writer.ok()) {
    return fmt::format("{}={}: {}: set it to a writable file, or unset it for no capture", kPcapEnv,
                       std::string(path), writer.error());
  }
  std::unique_ptr<NetDevice> capture = std::make_unique<CaptureDevice>(
      std::move(device), std::move(*writer), realtime_offset_from_monotonic_ns(), flush);
  return capture;
}

Expected<std::unique_ptr<NetDevice>, std::string> with_capture_from_env(
    std::unique_ptr<NetDevice> device, CaptureDevice::FlushPolicy flush) {
  const char* path = ::secure_getenv(kPcapEnv);
  return with_capture(std::move(device), path != nullptr ? path : "", flush);
}

}  // namespace shunt
