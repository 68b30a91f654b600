// The native baseline of native-bench: convolutions as im2col + OpenBLAS sgemm (Caffe's way), timed by
// Google Benchmark. native-bench runs it with one argument per shape,
//
//   op/direction/N,I,O,H,W,k,stride,pad      e.g. modulated_conv3x3/forward/1,256,256,32,32,3,1,1
//   sgemm/forward/M,N,K                      a bare row-major sgemm, to check the machine against known rates
//
// and names each benchmark op/direction/N1_I256_O256_H32_W32 (H, W of the input map) so its rows line up with
// the C# rows. Forward: per sample, unfold the input (skipped when a 1x1 stride-1 convolution needs no
// unfolding) and multiply the [O, I·k·k] weight by it. Backward: both gradients, dW = Σ_n dy·colᵀ and
// dx = col2im(Wᵀ·dy). im2col and col2im run on one thread, as in Caffe: on 2 Zen 4 cores, OpenMP threads
// for them cost more in contention with OpenBLAS's own threads than they saved (N1_I256_O256_H32_W32
// forward: 165 GFLOP/s single-threaded, 158 with passive OpenMP waiting, 84 with spinning).
// Modulated convolutions are timed as the plain convolution of the same shape: the per-sample weight
// scaling they add is O·I·k·k multiplies, noise next to the product.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

struct Conv {
  int n, ci, co, h, w, k, s, p;
  int oh() const { return (h + 2 * p - k) / s + 1; }
  int ow() const { return (w + 2 * p - k) / s + 1; }
  long kdim() const { return long(ci) * k * k; }
  long opix() const { return long(oh()) * ow(); }
  long in_size() const { return long(ci) * h * w; }
  bool direct() const { return k == 1 && s == 1 && p == 0; }  // the input already is the column matrix
  double macs() const { return double(n) * co * kdim() * opix(); }
};

int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

std::vector<float> random_floats(size_t count, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(count);
  for (auto& e : v) e = u(gen);
  return v;
}

// col[(ch·k + ky)·k + kx, oy·ow + ox] = x[ch, oy·s + ky − p, ox·s + kx − p], zero outside the map.
void im2col(const float* x, const Conv& c, float* col) {
  const int oh = c.oh(), ow = c.ow();
  for (long row = 0; row < c.kdim(); row++) {
    const int ch = int(row / (c.k * c.k)), ky = int(row / c.k % c.k), kx = int(row % c.k);
    const float* xc = x + long(ch) * c.h * c.w;
    // Output columns whose input column lies inside the map: ox in [lo, hi).
    const int lo = std::min(ow, std::max(0, -floor_div(kx - c.p, c.s)));
    const int hi = std::max(lo, std::min(ow, floor_div(c.w - 1 + c.p - kx, c.s) + 1));
    for (int oy = 0; oy < oh; oy++) {
      float* o = col + row * c.opix() + long(oy) * ow;
      const int iy = oy * c.s + ky - c.p;
      if (iy < 0 || iy >= c.h) {
        std::fill(o, o + ow, 0.f);
        continue;
      }
      const float* xr = xc + long(iy) * c.w + kx - c.p;
      std::fill(o, o + lo, 0.f);
      if (c.s == 1) {
        std::memcpy(o + lo, xr + lo, sizeof(float) * (hi - lo));
      } else {
        for (int ox = lo; ox < hi; ox++) o[ox] = xr[ox * c.s];
      }
      std::fill(o + hi, o + ow, 0.f);
    }
  }
}

// The adjoint of im2col: x[ch, iy, ix] = Σ of the col entries that im2col copied from it.
void col2im(const float* col, const Conv& c, float* x) {
  const int oh = c.oh(), ow = c.ow();
  for (int ch = 0; ch < c.ci; ch++) {
    float* xc = x + long(ch) * c.h * c.w;
    std::fill(xc, xc + long(c.h) * c.w, 0.f);
    for (int ky = 0; ky < c.k; ky++)
      for (int kx = 0; kx < c.k; kx++) {
        const float* cr = col + (long(ch) * c.k * c.k + ky * c.k + kx) * c.opix();
        for (int oy = 0; oy < oh; oy++) {
          const int iy = oy * c.s + ky - c.p;
          if (iy < 0 || iy >= c.h) continue;
          for (int ox = 0; ox < ow; ox++) {
            const int ix = ox * c.s + kx - c.p;
            if (ix >= 0 && ix < c.w) xc[long(iy) * c.w + ix] += cr[long(oy) * ow + ox];
          }
        }
      }
  }
}

// One forward pass over the batch: y = W · im2col(x), per sample.
void forward_pass(const Conv& c, const float* x, const float* w, float* y, float* col) {
  for (int b = 0; b < c.n; b++) {
    const float* xb = x + b * c.in_size();
    if (!c.direct()) im2col(xb, c, col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c.co, int(c.opix()), int(c.kdim()), 1.f, w, int(c.kdim()),
                c.direct() ? xb : col, int(c.opix()), 0.f, y + b * c.co * c.opix(), int(c.opix()));
  }
}

// One backward pass over the batch: dW = Σ_n dy·im2col(x)ᵀ and dx = col2im(Wᵀ·dy), per sample.
void backward_pass(const Conv& c, const float* x, const float* w, const float* dy, float* dx, float* dw, float* col) {
  for (int b = 0; b < c.n; b++) {
    const float* xb = x + b * c.in_size();
    const float* dyb = dy + b * c.co * c.opix();
    float* dxb = dx + b * c.in_size();
    if (!c.direct()) im2col(xb, c, col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c.co, int(c.kdim()), int(c.opix()), 1.f, dyb, int(c.opix()),
                c.direct() ? xb : col, int(c.opix()), b == 0 ? 0.f : 1.f, dw, int(c.kdim()));
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(c.kdim()), int(c.opix()), c.co, 1.f, w, int(c.kdim()), dyb,
                int(c.opix()), 0.f, c.direct() ? dxb : col, int(c.opix()));
    if (!c.direct()) col2im(col, c, dxb);
  }
}

// Buffers of one convolution, filled with the same inputs every time.
struct Buffers {
  std::vector<float> x, w, dy, y, dx, dw, col;
  explicit Buffers(const Conv& c)
      : x(random_floats(size_t(c.n) * c.in_size(), 1)),
        w(random_floats(size_t(c.co) * c.kdim(), 2)),
        dy(random_floats(size_t(c.n) * c.co * c.opix(), 4)),
        y(dy.size()),
        dx(x.size()),
        dw(w.size()),
        col(c.direct() ? 0 : size_t(c.kdim()) * c.opix()) {}
};

double max_rel_error(const std::vector<float>& a, const std::vector<double>& r) {
  double scale = 0, diff = 0;
  for (size_t i = 0; i < r.size(); i++) {
    scale = std::max(scale, std::fabs(r[i]));
    diff = std::max(diff, std::fabs(a[i] - r[i]));
  }
  return diff / std::max(scale, 1e-30);
}

// native-bench's validation, as for its C# variants: the same code at a reduced shape (channels and sizes
// above 32 become 32 plus their remainder mod 16, batch at most 2) against a naive double-precision
// convolution; the max relative error, worst over the outputs.
double validate(const Conv& full, bool backward) {
  auto cap = [](int v) { return v <= 32 ? v : 32 + v % 16; };
  const Conv c{std::min(full.n, 2), cap(full.ci), cap(full.co), cap(full.h), cap(full.w), full.k, full.s, full.p};
  static std::map<std::array<int, 9>, double> known;  // many full shapes share a reduced one
  const std::array<int, 9> key{c.n, c.ci, c.co, c.h, c.w, c.k, c.s, c.p, backward};
  if (auto it = known.find(key); it != known.end()) return it->second;
  Buffers b(c);
  std::vector<double> y(b.y.size()), dx(b.x.size()), dw(b.w.size());
  for (int n = 0; n < c.n; n++)
    for (int o = 0; o < c.co; o++)
      for (int oy = 0; oy < c.oh(); oy++)
        for (int ox = 0; ox < c.ow(); ox++) {
          const long yi = ((long(n) * c.co + o) * c.oh() + oy) * c.ow() + ox;
          for (int i = 0; i < c.ci; i++)
            for (int ky = 0; ky < c.k; ky++)
              for (int kx = 0; kx < c.k; kx++) {
                const int iy = oy * c.s + ky - c.p, ix = ox * c.s + kx - c.p;
                if (iy < 0 || ix < 0 || iy >= c.h || ix >= c.w) continue;
                const long xi = ((long(n) * c.ci + i) * c.h + iy) * c.w + ix, wi = ((long(o) * c.ci + i) * c.k + ky) * c.k + kx;
                y[yi] += double(b.x[xi]) * b.w[wi];
                dx[xi] += double(b.dy[yi]) * b.w[wi];
                dw[wi] += double(b.dy[yi]) * b.x[xi];
              }
        }
  if (!backward) {
    forward_pass(c, b.x.data(), b.w.data(), b.y.data(), b.col.data());
    return known[key] = max_rel_error(b.y, y);
  }
  backward_pass(c, b.x.data(), b.w.data(), b.dy.data(), b.dx.data(), b.dw.data(), b.col.data());
  return known[key] = std::max(max_rel_error(b.dx, dx), max_rel_error(b.dw, dw));
}

void conv(benchmark::State& state, Conv c, bool backward, double error) {
  Buffers b(c);
  for (auto _ : state) {
    if (backward) {
      backward_pass(c, b.x.data(), b.w.data(), b.dy.data(), b.dx.data(), b.dw.data(), b.col.data());
    } else {
      forward_pass(c, b.x.data(), b.w.data(), b.y.data(), b.col.data());
    }
    benchmark::ClobberMemory();
  }
  state.counters["FLOPS"] = benchmark::Counter((backward ? 4 : 2) * c.macs(), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["max_rel_error"] = error;
}

void sgemm(benchmark::State& state, int m, int n, int k) {
  auto a = random_floats(size_t(m) * k, 1), b = random_floats(size_t(k) * n, 2);
  std::vector<float> c(size_t(m) * n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f, a.data(), k, b.data(), n, 0.f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOPS"] = benchmark::Counter(2.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate);
}

// Registers one `op/direction/ints` argument; false when it does not parse.
bool register_spec(const std::string& spec) {
  const auto a = spec.find('/'), b = spec.find('/', a == std::string::npos ? a : a + 1);
  if (a == std::string::npos || b == std::string::npos) return false;
  const std::string op = spec.substr(0, a), dir = spec.substr(a + 1, b - a - 1);
  int v[8];
  int used = 0;
  const int got = std::sscanf(spec.c_str() + b + 1, "%d,%d,%d,%d,%d,%d,%d,%d%n", &v[0], &v[1], &v[2], &v[3], &v[4],
                              &v[5], &v[6], &v[7], &used);
  char name[256];
  if (op == "sgemm") {
    if (std::sscanf(spec.c_str() + b + 1, "%d,%d,%d", &v[0], &v[1], &v[2]) != 3 || dir != "forward") return false;
    std::snprintf(name, sizeof name, "sgemm/forward/M%d_N%d_K%d", v[0], v[1], v[2]);
    benchmark::RegisterBenchmark(name, sgemm, v[0], v[1], v[2])->Unit(benchmark::kMillisecond)->UseRealTime();
    return true;
  }
  if (got != 8 || (dir != "forward" && dir != "backward")) return false;
  const Conv c{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
  if (c.n < 1 || c.ci < 1 || c.co < 1 || c.k < 1 || c.s < 1 || c.p < 0 || c.oh() < 1 || c.ow() < 1) return false;
  std::snprintf(name, sizeof name, "%s/%s/N%d_I%d_O%d_H%d_W%d", op.c_str(), dir.c_str(), c.n, c.ci, c.co, c.h, c.w);
  const bool backward = dir == "backward";
  benchmark::RegisterBenchmark(name, conv, c, backward, validate(c, backward))
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);  // takes the --benchmark_* flags out of argv
  if (argc < 2) {
    std::fprintf(stderr, "usage: conv_bench [--benchmark_* flags] op/direction/N,I,O,H,W,k,stride,pad ...\n");
    return 2;
  }
  for (int i = 1; i < argc; i++)
    if (!register_spec(argv[i])) {
      std::fprintf(stderr, "conv_bench: cannot read '%s' (want op/forward|backward/N,I,O,H,W,k,stride,pad)\n", argv[i]);
      return 2;
    }
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  benchmark::AddCustomContext("openblas_corename", openblas_get_corename());
  benchmark::AddCustomContext("openblas_threads", std::to_string(openblas_get_num_threads()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
