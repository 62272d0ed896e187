#include "driver/pcap_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace shunt {
namespace {

void put_le16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}

void put_le32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

Expected<std::unique_ptr<PcapWriter>, std::string> PcapWriter::open(const std::string& path,
                                                                    uint32_t snaplen) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return fmt::format(
        "cannot create capture file '{}': {}: check that the directory exists and "
        "is writable",
        path, std::strerror(errno));
  }
  auto writer = std::make_unique<PcapWriter>(fd, snaplen);
  if (!writer->flush()) {
    return fmt::format("cannot write capture file '{}': {}", path,
                       std::strerror(writer->last_error()));
  }
  return writer;
}

PcapWriter::PcapWriter(int fd, uint32_t snaplen) : fd_(fd), snaplen_(snaplen) {
  buffer_.reserve(kBufferSize);
  // pcap-savefile(5): magic, version 2.4, thiszone 0 (GMT), sigfigs 0,
  // snaplen, link type.
  put_le32(buffer_, 0xa1b2c3d4);
  put_le16(buffer_, 2);
  put_le16(buffer_, 4);
  put_le32(buffer_, 0);
  put_le32(buffer_, 0);
  put_le32(buffer_, snaplen_);
  put_le32(buffer_, kLinktypeEthernet);
}

PcapWriter::~PcapWriter() {
  flush();
  if (fd_ >= 0) ::close(fd_);
}

void PcapWriter::write(Bytes frame, int64_t unix_time_ns) {
  if (failed()) {
    ++records_dropped_;
    return;
  }
  const int64_t ns = std::max<int64_t>(unix_time_ns, 0);
  const auto sec = static_cast<uint32_t>(ns / 1'000'000'000);
  const auto usec = static_cast<uint32_t>((ns % 1'000'000'000) / 1000);
  const size_t captured = std::min<size_t>(frame.size(), snaplen_);

  uint8_t header[kRecordHeaderLen];
  put_le32(header, sec);
  put_le32(header + 4, usec);
  put_le32(header + 8, static_cast<uint32_t>(captured));
  put_le32(header + 12, static_cast<uint32_t>(frame.size()));

  const size_t record_len = kRecordHeaderLen + captured;
  if (buffer_.size() + record_len > kBufferSize && !flush()) {
    ++records_dropped_;
    return;
  }
  if (record_len > kBufferSize) {
    // A record bigger than the buffer (a GSO frame) goes straight out; the
    // buffer is empty at this point, so the order of records is kept.
    if (!write_all(header, kRecordHeaderLen) || !write_all(frame.data(), captured)) {
      ++records_dropped_;
      return;
    }
    ++records_written_;
    return;
  }
  buffer_.insert(buffer_.end(), header, header + kRecordHeaderLen);
  buffer_.insert(buffer_.end(), frame.data(), frame.data() + captured);
  ++buffered_records_;
}

bool PcapWriter::flush() {
  if (failed()) return false;
  if (buffer_.empty()) return true;
  const bool ok = write_all(buffer_.data(), buffer_.size());
  if (ok) {
    records_written_ += buffered_records_;
  } else {
    records_dropped_ += buffered_records_;
  }
  buffered_records_ = 0;
  buffer_.clear();
  return ok;
}

bool PcapWriter::write_all(const uint8_t* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd_, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      ++write_errors_;
      last_error_ = errno;
      return false;
    }
    if (n == 0) {  // no progress: treat like a full disk rather than spin
      ++write_errors_;
      last_error_ = ENOSPC;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

int64_t realtime_offset_from_monotonic_ns() {
  timespec real{};
  timespec mono{};
  ::clock_gettime(CLOCK_REALTIME, &real);
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  return (int64_t{real.tv_sec} - mono.tv_sec) * 1'000'000'000 + (real.tv_nsec - mono.tv_nsec);
}

}  // namespace shunt
