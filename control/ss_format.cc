#include "control/ss_format.h"

#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>

#include <fmt/format.h>

namespace shunt::control {
namespace {

bool proto_wanted(const Json& s, const SsOptions& o) {
  if (!o.tcp && !o.udp) return true;
  const std::string p = s.value("proto", "");
  return (o.tcp && p == "tcp") || (o.udp && p == "udp");
}

// "198.18.0.1:80" -> "198.18.0.1:http" unless -n (ss's default resolves
// service names, not host names).
std::string show_endpoint(const std::string& ep, const std::string& proto, bool numeric) {
  if (numeric) return ep;
  auto colon = ep.rfind(':');
  if (colon == std::string::npos) return ep;
  const std::string port = ep.substr(colon + 1);
  if (port.empty() || port == "*" || !std::all_of(port.begin(), port.end(), ::isdigit)) return ep;
  servent* se = getservbyport(htons(static_cast<uint16_t>(std::stoi(port))), proto.c_str());
  if (se == nullptr) return ep;
  return ep.substr(0, colon + 1) + se->s_name;
}

std::string users(const Json& reply, const Json& s) {
  const auto& fds = s.value("fds", Json::array());
  if (fds.empty()) return "";
  std::string out = "users:(";
  bool first = true;
  for (const auto& fd : fds) {
    if (!first) out += ",";
    first = false;
    out += fmt::format("(\"{}\",pid={},fd={})", reply.value("comm", "?"), reply.value("pid", 0),
                       fd.get<int>());
  }
  return out + ")";
}

std::string info_line(const Json& i) {
  std::string l;
  auto num = [&](const char* key) -> uint64_t { return i.value(key, uint64_t{0}); };
  auto add = [&](const std::string& s) {
    if (!l.empty()) l += ' ';
    l += s;
  };
  add(i.value("congestion", std::string("?")));
  if (i.contains("wscale") && i["wscale"].is_array()) {
    add(fmt::format("wscale:{},{}", i["wscale"][0].get<int>(), i["wscale"][1].get<int>()));
  }
  add("rto:" + ms3(i.value("rto_us", int64_t{0})));
  add("rtt:" + ms3(i.value("rtt_us", int64_t{0})) + "/" + ms3(i.value("rttvar_us", int64_t{0})));
  if (num("ato_us") != 0) add("ato:" + ms3(i.value("ato_us", int64_t{0})));
  add(fmt::format("mss:{}", num("mss")));
  add(fmt::format("rcvmss:{}", num("rcv_mss")));
  add(fmt::format("advmss:{}", num("advmss")));
  add(fmt::format("cwnd:{}", num("cwnd")));
  if (i.contains("ssthresh") && !i["ssthresh"].is_null()) add(fmt::format("ssthresh:{}", num("ssthresh")));
  if (num("bytes_sent") != 0) add(fmt::format("bytes_sent:{}", num("bytes_sent")));
  if (num("bytes_retrans") != 0) add(fmt::format("bytes_retrans:{}", num("bytes_retrans")));
  if (num("bytes_acked") != 0) add(fmt::format("bytes_acked:{}", num("bytes_acked")));
  if (num("bytes_received") != 0) add(fmt::format("bytes_received:{}", num("bytes_received")));
  add(fmt::format("segs_out:{} segs_in:{}", num("segs_out"), num("segs_in")));
  if (num("data_segs_out") != 0) add(fmt::format("data_segs_out:{}", num("data_segs_out")));
  if (num("data_segs_in") != 0) add(fmt::format("data_segs_in:{}", num("data_segs_in")));
  add(fmt::format("lastsnd:{} lastrcv:{} lastack:{}", num("lastsnd_ms"), num("lastrcv_ms"),
                  num("lastack_ms")));
  if (num("delivery_rate_bps") != 0) add("delivery_rate " + rate_bps(num("delivery_rate_bps")));
  if (num("unacked") != 0) add(fmt::format("unacked:{}", num("unacked")));
  if (num("retrans") != 0 || num("total_retrans") != 0) {
    add(fmt::format("retrans:{}/{}", num("retrans"), num("total_retrans")));
  }
  if (num("lost") != 0) add(fmt::format("lost:{}", num("lost")));
  if (num("sacked") != 0) add(fmt::format("sacked:{}", num("sacked")));
  add(fmt::format("rcv_space:{}", num("rcv_space")));
  add(fmt::format("snd_wnd:{}", num("snd_wnd")));
  if (num("min_rtt_us") != 0) add("minrtt:" + ms3(i.value("min_rtt_us", int64_t{0})));
  return l;
}

}  // namespace

std::string ms3(int64_t us) {
  // ss prints milliseconds with up to three decimals, trailing zeros cut.
  std::string s = fmt::format("{:.3f}", static_cast<double>(us) / 1000.0);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string rate_bps(uint64_t bps) {
  if (bps >= 1'000'000'000) return fmt::format("{:.1f}Gbps", static_cast<double>(bps) / 1e9);
  if (bps >= 1'000'000) return fmt::format("{:.1f}Mbps", static_cast<double>(bps) / 1e6);
  if (bps >= 1'000) return fmt::format("{:.1f}Kbps", static_cast<double>(bps) / 1e3);
  return fmt::format("{}bps", bps);
}

bool ss_selected(const Json& s, const SsOptions& o) {
  if (!proto_wanted(s, o)) return false;
  if (o.all) return true;
  const std::string st = s.value("state", "");
  const bool listening = st == "LISTEN" || st == "UNCONN";
  if (o.listening) return listening;
  return !listening && st != "TIME-WAIT" && st != "SYN-RECV" && st != "CLOSE";
}

std::string format_ss(const std::vector<Json>& replies, const SsOptions& o) {
  const bool netid = o.tcp == o.udp;  // both or neither: say which
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> infos;
  std::vector<std::string> header;
  if (netid) header.push_back("Netid");
  for (const char* h : {"State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"}) {
    header.emplace_back(h);
  }
  if (o.process) header.emplace_back("Process");
  rows.push_back(header);
  infos.emplace_back();
  for (const auto& reply : replies) {
    for (const auto& s : reply.value("sockets", Json::array())) {
      if (!ss_selected(s, o)) continue;
      const std::string proto = s.value("proto", "");
      std::vector<std::string> r;
      if (netid) r.push_back(proto);
      r.push_back(s.value("state", ""));
      r.push_back(std::to_string(s.value("recv_q", uint64_t{0})));
      r.push_back(std::to_string(s.value("send_q", uint64_t{0})));
      r.push_back(show_endpoint(s.value("local", ""), proto, o.numeric));
      r.push_back(show_endpoint(s.value("peer", ""), proto, o.numeric));
      if (o.process) r.push_back(users(reply, s));
      rows.push_back(std::move(r));
      infos.push_back(o.info && s.contains("info") ? info_line(s["info"]) : std::string());
    }
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& r : rows) {
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  std::string out;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string line;
    for (size_t c = 0; c < rows[i].size(); ++c) {
      line += rows[i][c];
      if (c + 1 < rows[i].size()) line += std::string(width[c] - rows[i][c].size() + 1, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
    if (!infos[i].empty()) out += "\t " + infos[i] + "\n";
  }
  return out;
}

Json filter_ss(const std::vector<Json>& replies, const SsOptions& o) {
  Json procs = Json::array();
  for (const auto& reply : replies) {
    Json p{{"pid", reply.value("pid", 0)}, {"comm", reply.value("comm", "")}};
    Json socks = Json::array();
    for (const auto& s : reply.value("sockets", Json::array())) {
      if (!ss_selected(s, o)) continue;
      Json c = s;
      if (!o.info) c.erase("info");
      socks.push_back(std::move(c));
    }
    p["sockets"] = std::move(socks);
    procs.push_back(std::move(p));
  }
  return Json{{"processes", procs}};
}

}  // namespace shunt::control
