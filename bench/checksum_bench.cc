// Internet checksum throughput (RFC 1071, 8 bytes per step).
#include <benchmark/benchmark.h>

#include <vector>

#include "stack/wire/checksum.h"

namespace {

void BM_Checksum(benchmark::State& state) {
  std::vector<uint8_t> data(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31 + 7);
  for (auto _ : state) {
    benchmark::DoNotOptimize(shunt::checksum::compute(data));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Checksum)->Arg(64)->Arg(1500)->Arg(65536);

}  // namespace
