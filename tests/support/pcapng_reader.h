// A minimal pcapng reader for tests: reads back what PcapWriter writes (one
// little-endian section, Enhanced Packet Blocks with epb_flags and
// opt_comment), checking every length on the way. Written from the format
// description, independently of the writer.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace shunt::testing {

struct PcapngPacket {
  uint64_t ts = 0;  // in the interface's units (ns for shunt)
  std::vector<uint8_t> data;
  uint32_t original_len = 0;
  uint32_t flags = 0;  // epb_flags, 0 if absent
  std::vector<std::string> comments;
  bool outbound() const { return (flags & 3) == 2; }
  bool inbound() const { return (flags & 3) == 1; }
};

struct PcapngFile {
  uint32_t snaplen = 0;
  uint8_t tsresol = 6;  // if_tsresol, default 10^-6
  std::vector<PcapngPacket> packets;
};

inline uint32_t pcapng_le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
inline uint16_t pcapng_le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}

// nullopt if the bytes are not a well-formed pcapng file of this shape.
inline std::optional<PcapngFile> parse_pcapng(const std::vector<uint8_t>& b) {
  PcapngFile f;
  size_t at = 0;
  bool seen_shb = false;
  bool seen_idb = false;
  while (at < b.size()) {
    if (b.size() - at < 12) return std::nullopt;
    const uint32_t type = pcapng_le32(&b[at]);
    const uint32_t len = pcapng_le32(&b[at + 4]);
    if (len < 12 || len % 4 != 0 || len > b.size() - at) return std::nullopt;
    if (pcapng_le32(&b[at + len - 4]) != len) return std::nullopt;
    const uint8_t* body = &b[at + 8];
    const size_t body_len = len - 12;
    // Options from `opt` to the end of the body.
    auto options = [&](size_t opt, auto&& each) {
      while (opt + 4 <= body_len) {
        const uint16_t code = pcapng_le16(body + opt);
        const uint16_t olen = pcapng_le16(body + opt + 2);
        if (code == 0) return true;
        const size_t padded = (olen + 3u) & ~3u;
        if (opt + 4 + padded > body_len) return false;
        each(code, body + opt + 4, olen);
        opt += 4 + padded;
      }
      return opt == body_len;
    };
    if (type == 0x0a0d0d0a) {
      if (body_len < 16 || pcapng_le32(body) != 0x1a2b3c4d) return std::nullopt;
      if (pcapng_le16(body + 4) != 1) return std::nullopt;
      seen_shb = true;
    } else if (type == 1) {
      if (!seen_shb || body_len < 8) return std::nullopt;
      if (pcapng_le16(body) != 1) return std::nullopt;  // LINKTYPE_ETHERNET
      f.snaplen = pcapng_le32(body + 4);
      bool ok = options(8, [&](uint16_t code, const uint8_t* v, uint16_t n) {
        if (code == 9 && n == 1) f.tsresol = v[0];
      });
      if (!ok) return std::nullopt;
      seen_idb = true;
    } else if (type == 6) {
      if (!seen_idb || body_len < 20 || pcapng_le32(body) != 0) return std::nullopt;
      PcapngPacket p;
      p.ts = uint64_t{pcapng_le32(body + 4)} << 32 | pcapng_le32(body + 8);
      const uint32_t cap = pcapng_le32(body + 12);
      p.original_len = pcapng_le32(body + 16);
      const size_t padded = (cap + 3u) & ~3u;
      if (20 + padded > body_len || cap > p.original_len) return std::nullopt;
      p.data.assign(body + 20, body + 20 + cap);
      bool ok = options(20 + padded, [&](uint16_t code, const uint8_t* v, uint16_t n) {
        if (code == 2 && n == 4) p.flags = pcapng_le32(v);
        if (code == 1) p.comments.emplace_back(reinterpret_cast<const char*>(v), n);
      });
      if (!ok) return std::nullopt;
      f.packets.push_back(std::move(p));
    } else {
      return std::nullopt;
    }
    at += len;
  }
  if (!seen_idb) return std::nullopt;
  return f;
}

inline std::optional<PcapngFile> read_pcapng(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> b{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return parse_pcapng(b);
}

}  // namespace shunt::testing
