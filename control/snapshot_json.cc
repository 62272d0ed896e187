#include "control/snapshot_json.h"

#include <chrono>

namespace shunt::control {
namespace {

int64_t us(Duration d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); }
int64_t ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

std::string endpoint(const Endpoint& e) {
  if (e.addr.is_unspecified() && e.port == 0) return "*:*";
  std::string a = e.addr.is_unspecified() ? std::string("*") : e.addr.to_string();
  return a + ":" + (e.port == 0 ? std::string("*") : std::to_string(e.port));
}

}  // namespace

std::string_view ss_state_name(SocketEntry::Proto proto, tcp::TcpState state) {
  using tcp::TcpState;
  if (proto == SocketEntry::Proto::kUdp) return state == TcpState::kEstablished ? "ESTAB" : "UNCONN";
  return tcp::ss_name(state);
}

Json tcp_info_to_json(const tcp::TcpInfo& i) {
  Json j;
  j["congestion"] = std::string(i.congestion);
  j["ca_state"] = i.ca_state;
  j["ts"] = i.ts_ok;
  j["sack"] = i.sack_ok;
  j["wscale"] = i.wscale_ok ? Json::array({i.snd_wscale, i.rcv_wscale}) : Json();
  j["rto_us"] = us(i.rto);
  j["ato_us"] = us(i.ato);
  j["rtt_us"] = us(i.rtt);
  j["rttvar_us"] = us(i.rttvar);
  j["min_rtt_us"] = us(i.min_rtt);
  j["mss"] = i.snd_mss;
  j["rcv_mss"] = i.rcv_mss;
  j["advmss"] = i.advmss;
  j["cwnd"] = i.snd_cwnd;
  // 0x7fffffff is Linux's "infinite" (no loss yet): ss leaves it out.
  j["ssthresh"] = i.snd_ssthresh >= 0x7fffffffu ? Json() : Json(i.snd_ssthresh);
  j["snd_wnd"] = i.snd_wnd;
  j["rcv_wnd"] = i.rcv_wnd;
  j["rcv_space"] = i.rcv_space;
  j["bytes_sent"] = i.bytes_sent;
  j["bytes_retrans"] = i.bytes_retrans;
  j["bytes_acked"] = i.bytes_acked;
  j["bytes_received"] = i.bytes_received;
  j["segs_out"] = i.segs_out;
  j["segs_in"] = i.segs_in;
  j["data_segs_out"] = i.data_segs_out;
  j["data_segs_in"] = i.data_segs_in;
  j["unacked"] = i.unacked;
  j["sacked"] = i.sacked;
  j["lost"] = i.lost;
  j["retrans"] = i.retrans;
  j["total_retrans"] = i.total_retrans;
  j["retransmits"] = i.retransmits;
  j["backoff"] = i.backoff;
  j["probes"] = i.probes;
  j["reordering"] = i.reordering;
  j["delivery_rate_bps"] = i.delivery_rate * 8;
  j["notsent_bytes"] = i.notsent_bytes;
  j["lastsnd_ms"] = ms(i.last_data_sent);
  j["lastrcv_ms"] = ms(i.last_data_recv);
  j["lastack_ms"] = ms(i.last_ack_recv);
  return j;
}

Json socket_to_json(const SocketEntry& e, std::span<const int> fds) {
  Json j;
  j["proto"] = e.proto == SocketEntry::Proto::kTcp ? "tcp" : "udp";
  j["state"] = std::string(ss_state_name(e.proto, e.state));
  j["recv_q"] = e.recv_q;
  j["send_q"] = e.send_q;
  j["local"] = endpoint(e.local);
  j["peer"] = endpoint(e.remote);
  j["fds"] = std::vector<int>(fds.begin(), fds.end());
  if (e.info) j["info"] = tcp_info_to_json(*e.info);
  return j;
}

Json stats_to_json(const Stats& s) {
  Json counters = Json::object();
  Json drops = Json::object();
  s.for_each([&](std::string_view group, std::string_view name, uint64_t v) {
    if (group == "Drop") {
      drops[std::string(name)] = v;
    } else {
      counters[std::string(group)][std::string(name)] = v;
    }
  });
  return Json{{"counters", counters}, {"drops", drops}};
}

Json faults_to_json(uint64_t seed, const std::vector<FaultRuleStatus>& rules,
                              const std::vector<std::string>& log, uint64_t log_dropped) {
  Json r = Json::array();
  for (const auto& f : rules) {
    r.push_back({{"id", f.id},
                 {"rule", f.rule},
                 {"matched", f.matched},
                 {"injected", f.injected},
                 {"rate_dropped", f.rate_dropped}});
  }
  return Json{{"seed", seed}, {"rules", r}, {"log", log}, {"log_dropped", log_dropped}};
}

}  // namespace shunt::control
