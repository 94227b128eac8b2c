// The engine's stacked wavefront recurrence as one compiled loop over the true sparsity.
//
// models/recurrence.py runs the same recurrence with dense, padded per-step products and
// one PyTorch call per operation; on the thesis preset a step reads about 270 edge weights
// per gate, against a dense product of about 5,600, and the per-call overhead of dozens of
// small operations per step dominates single networks. Here each (candidate, batch chunk)
// walks all its steps in one pass: every edge is one multiply-add over the batch rows (the
// batch is innermost, so a neuron's state at a step is one contiguous row), the edges into
// one gate row summed in registers; each cell's elementwise math is one fused loop. The
// backward pass walks the steps in reverse with the cells' exact derivatives; each edge is
// again one multiply-add (to the source's state gradient, the edges that read one state
// summed in registers) and one dot product (its weight gradient).
//
// Layouts (all contiguous; B = batch rows, innermost):
//   states (D + S, K, N, B)  D leading zero slots, then the state after each global step
//   acts   (S, K, 4N, B)     GRU r|z|n|hidden-n, LSTM i|f|g|o (after their nonlinearities)
//   cells  (1 + S, K, N, B)  LSTM cell state, slot 0 zero
//   drive  (S, K, G*N, B)    input projection plus bias_x per global step (dense mode), or
//   ids (S, K, B) int32 + table (K, G*N, R)   token mode: step s of row b adds column
//                            ids[s, k, b] of candidate k's transposed token table
//   x_edges (K, E, 4) int32  (gate row, source neuron, lag, target neuron) of every edge
//                            weight; x_count (K,) how many rows of it are real
//   h_edges (K, F, 3) int32  (gate row, neuron, target neuron) of every own-layer weight
//   layer (K, N) int32       the global step at which each neuron handles time 0
//
// Transcendentals: single precision uses Cephes' expf polynomial (about 1 ulp, written so the
// compiler vectorises it) and tanh from it (tanh_of), double precision the C library. NaN
// inputs give NaN outputs, so a diverging candidate is still seen as diverged.

#include <torch/extension.h>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

enum Cell : int64_t { RNN_TANH = 0, RNN_RELU = 1, GRU = 2, LSTM = 3 };

#define INLINE static inline __attribute__((always_inline))

INLINE float exp_of(float x) {
  x = x > 88.0f ? 88.0f : x;
  x = x < -87.0f ? -87.0f : x;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  float shifted = x * 1.44269504088896341f + magic;
  float n = shifted - magic;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  uint32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  bits = (bits - 0x4B400000u + 127u) << 23;  // 2^n from n's bits in the mantissa
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

// tanh(x) = 1 - 2 / (e^(2x) + 1): one exponential and one division, with no branch for small
// |x| (its absolute error stays below 2e-7 everywhere; the relative error near 0 is larger,
// which no use here needs: the states and gradients are compared in absolute terms).
INLINE float tanh_of(float x) { return 1.0f - 2.0f / (exp_of(2.0f * x) + 1.0f); }

INLINE double exp_of(double x) { return std::exp(x); }
INLINE double tanh_of(double x) { return std::tanh(x); }

template <typename T>
INLINE T sigmoid_of(T x) {
  return T(1) / (T(1) + exp_of(-x));
}

// What every (candidate, batch chunk) item needs; pointers are to whole tensors.
template <typename T>
struct Problem {
  int64_t cell, steps, k, n, batch, lags, gates, table_rows, length;
  const T* drive;       // dense mode, else nullptr
  const int32_t* ids;   // token mode, else nullptr
  const T* table;       // token mode: (K, G*N, R) transposed
  const T* w_x;         // (K, G*N, N)
  const int32_t* x_edges;
  const int32_t* x_count;
  int64_t x_width;
  const T* w_h;
  const int32_t* h_edges;
  const int32_t* h_count;
  int64_t h_width;
  const T* bias_h;      // (K, G*N)
  const int32_t* layer;  // (K, N) global step at which each neuron handles time 0
  T* states;
  T* acts;              // nullptr when nothing is saved (no backward follows)
  T* cells;             // LSTM only

  int64_t gate_rows() const { return gates * n; }
  T* state(int64_t slot, int64_t kk, int64_t neuron) const {
    return states + ((slot * k + kk) * n + neuron) * batch;
  }
  T* act(int64_t step, int64_t kk, int64_t row) const {
    return acts + ((step * k + kk) * 4 * n + row) * batch;
  }
  T* cell_state(int64_t slot, int64_t kk, int64_t neuron) const {
    return cells + ((slot * k + kk) * n + neuron) * batch;
  }
  // Whether a neuron's work at step s can matter: its time s - layer lies inside the
  // batch's sequences. Before, only its state at time -1 is read (zero: its own and its
  // layer's first step read it; an edge from a lower layer reads its source at the target's
  // own time); after, only other neurons past the end read it. Skipping both saves the
  // (L - 1) / (T + L - 1) of the wavefront that is padding, and the states of those steps
  // are neither written nor read (the buffers are reused from batch to batch).
  void fill_live(int64_t kk, int64_t s, std::vector<uint8_t>& live) const {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t time = s - layer[kk * n + i];
      live[i] = time >= 0 && time < length;
    }
  }
};

// The gate rows (gate * n + neuron) of a step's live neurons, as [begin, end) runs: the
// per-row loops over a step's pre-activations and their gradients walk only these, and the
// rows of the padding are neither filled nor read.
using Spans = std::vector<std::pair<int64_t, int64_t>>;
inline void live_rows(const uint8_t* live, int64_t n, int64_t gates, Spans& spans) {
  spans.clear();
  for (int64_t gate = 0; gate < gates; ++gate) {
    for (int64_t i = 0; i < n; ++i) {
      if (!live[i]) continue;
      const int64_t begin = i;
      while (i < n && live[i]) ++i;
      spans.emplace_back(gate * n + begin, gate * n + i);
    }
  }
}

// Runs items 0..count-1 on PyTorch's intra-op threads (at::parallel_for), the same OpenMP
// threads every other operation uses: a second pool of our own would compete with them
// while they spin-wait between operations.
// Items are handed out one at a time from a shared counter rather than split into equal
// ranges up front: candidates differ in edges and depth, and with equal ranges one thread
// waited for the other.
template <typename F>
void run_items(int64_t count, const F& body) {
  std::atomic<int64_t> next{0};
  const int64_t threads = std::min<int64_t>(count, at::get_num_threads());
  at::parallel_for(0, threads, 1, [&](int64_t, int64_t) {
    for (int64_t i = next++; i < count; i = next++) body(i);
  });
}

// Batch chunks per candidate: one when there are enough candidates for the threads to share
// (items are handed out one at a time, see run_items), else enough to keep every thread busy.
int64_t chunks_for(int64_t k, int64_t batch, int64_t threads) {
  if (threads <= 1 || k % threads == 0 || k >= 4 * threads) return 1;
  return std::max<int64_t>(1, std::min(threads, batch / 8));
}

struct Chunk {
  int64_t kk, b0, width;
};

Chunk chunk_of(int64_t item, int64_t chunks, int64_t batch) {
  int64_t kk = item / chunks, c = item % chunks;
  int64_t b0 = batch * c / chunks, b1 = batch * (c + 1) / chunks;
  return {kk, b0, b1 - b0};
}

// out[b] = row[id[b]]: one gate row of a step's token drive. With AVX-512 and a table of
// at most 32 tokens (Reber's), the whole row sits in two registers and each 16 outputs are
// one two-register permute, where a gather costs about a cycle per element. With AVX2 only,
// a table of at most 16 tokens sits in two 8-lane registers (each 8 outputs: two permutes
// and a blend on bit 3 of the token); a larger one is read by the 8-lane gather, which a
// paired micro-run measured at least as fast as four permutes and three blends for 28 tokens
// (docs/benchmarks.md, instruction sets).
template <typename T>
void gather(int64_t w, const T* __restrict__ row, int64_t rows, const int32_t* __restrict__ id,
            T* __restrict__ out) {
  int64_t b = 0;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (rows <= 32) {
      const auto low = __mmask16(rows >= 16 ? 0xFFFF : (1u << rows) - 1);
      const auto high = __mmask16(rows >= 32 ? 0xFFFF : rows > 16 ? (1u << (rows - 16)) - 1 : 0);
      const __m512 first = _mm512_maskz_loadu_ps(low, row);
      const __m512 second = _mm512_maskz_loadu_ps(high, row + 16);
      for (; b + 16 <= w; b += 16) {
        const __m512i index = _mm512_loadu_si512(id + b);
        _mm512_storeu_ps(out + b, _mm512_permutex2var_ps(first, index, second));
      }
    }
  }
#elif defined(__AVX2__)
  if constexpr (std::is_same_v<T, float>) {
    if (rows <= 16) {
      const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
      const __m256i first_rows = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(rows)), lane);
      const __m256i second_rows = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(rows) - 8), lane);
      const __m256 first = _mm256_maskload_ps(row, first_rows);  // rows past the table: 0
      const __m256 second = _mm256_maskload_ps(row + 8, second_rows);
      for (; b + 8 <= w; b += 8) {
        const __m256i index = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(id + b));
        const __m256 upper = _mm256_castsi256_ps(_mm256_slli_epi32(index, 28));  // bit 3
        _mm256_storeu_ps(out + b, _mm256_blendv_ps(_mm256_permutevar8x32_ps(first, index),
                                                   _mm256_permutevar8x32_ps(second, index),
                                                   upper));
      }
    } else {
      for (; b + 8 <= w; b += 8) {
        const __m256i index = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(id + b));
        _mm256_storeu_ps(out + b, _mm256_i32gather_ps(row, index, 4));
      }
    }
  }
#endif
  for (; b < w; ++b) out[b] = row[id[b]];
}

// The widest instruction set this build's hand-written paths use, from the compiler's
// macros (the -march it was built with): what the benchmark and the tests record.
const char* instruction_set() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__)
  return "avx2";
#else
  return "scalar";
#endif
}

// Eight lanes of T as one vector (GCC's vector extension): one 256-bit register of floats.
// The hot loops are written with it, because the auto-vectoriser turned the eight-lane
// partial sums into 512-bit vectors and shuffles; written out, each lane is one register lane.
constexpr int64_t LANES = 8;
template <typename T>
struct Lanes {
  typedef T type __attribute__((vector_size(LANES * sizeof(T))));
};
template <typename T>
using Vec = typename Lanes<T>::type;

template <typename T>
INLINE Vec<T> load(const T* from) {
  Vec<T> v;
  std::memcpy(&v, from, sizeof v);
  return v;
}

template <typename T>
INLINE void store(T* to, const Vec<T>& v) {
  std::memcpy(to, &v, sizeof v);
}

template <typename T>
INLINE T lane_sum(T sum, const Vec<T>& lanes) {
  for (int64_t j = 0; j < LANES; ++j) sum += lanes[j];
  return sum;
}

// Vectors of a batch tile that run_sum and run_grad keep in registers across a run of edges.
constexpr int64_t TILE_VECTORS = 4;
constexpr int64_t TILE = TILE_VECTORS * LANES;
// Edges of one run at most (a longer run is split; an in-degree is far less).
constexpr int64_t RUN = 64;

// out += sum over the run's edges of weight[e] * (base + offset[e])[b], over ``w`` rows: a
// run of edges into one gate row. Each tile of the row's sums stays in registers across the
// whole run and is stored once, where a multiply-add per edge would load and store the row at
// every edge. Every element adds its edges in the run's order.
template <typename T>
INLINE void run_sum(int64_t w, int64_t count, const T* __restrict__ weight,
                    const int64_t* __restrict__ offset, const T* __restrict__ base,
                    T* __restrict__ out) {
  int64_t b = 0;
  for (; b + TILE <= w; b += TILE) {
    Vec<T> acc[TILE_VECTORS];
    for (int64_t v = 0; v < TILE_VECTORS; ++v) acc[v] = load(out + b + v * LANES);
    for (int64_t e = 0; e < count; ++e) {
      const T* r = base + offset[e] + b;
      for (int64_t v = 0; v < TILE_VECTORS; ++v) acc[v] += weight[e] * load(r + v * LANES);
    }
    for (int64_t v = 0; v < TILE_VECTORS; ++v) store(out + b + v * LANES, acc[v]);
  }
  for (; b + LANES <= w; b += LANES) {
    Vec<T> acc = load(out + b);
    for (int64_t e = 0; e < count; ++e) acc += weight[e] * load(base + offset[e] + b);
    store(out + b, acc);
  }
  for (; b < w; ++b)
    for (int64_t e = 0; e < count; ++e) out[b] += weight[e] * base[offset[e] + b];
}

// One candidate's edge list (``stride`` ints per edge: gate row, source neuron, [lag,]
// target neuron; sorted by gate row) as runs into one gate row, prepared once per call so
// that a step only checks each run's target and adds: the weights side by side, and where
// each edge reads, as an offset from the state slot of the step's own time (an edge reads
// its source ``lag`` slots back; own-layer edges, without a lag column, one slot back).
template <typename T>
struct EdgeRuns {
  std::vector<int64_t> row, target, begin;  // per run (begin: one more, the end)
  std::vector<T> weight;
  std::vector<int64_t> offset;

  EdgeRuns(const int32_t* edges, int32_t count, int64_t stride, int64_t lag_column,
           const T* weights, int64_t n, int64_t slot, int64_t batch) {
    for (int32_t e = 0; e < count; ++e) {
      const int32_t* edge = edges + e * stride;
      const int64_t lag = lag_column < 0 ? 1 : edge[lag_column];
      if (row.empty() || row.back() != edge[0] || int64_t(weight.size()) - begin.back() >= RUN) {
        row.push_back(edge[0]);
        target.push_back(edge[stride - 1]);
        begin.push_back(int64_t(weight.size()));
      }
      weight.push_back(weights[int64_t(edge[0]) * n + edge[1]]);
      offset.push_back(-lag * slot + int64_t(edge[1]) * batch);
    }
    begin.push_back(int64_t(weight.size()));
  }

  // out (G*N rows of ``w``) += the edges of live targets, reading from ``base`` (the state
  // slot of the step's time, at the chunk's first row).
  void sum(int64_t w, const uint8_t* live, const T* base, T* out) const {
    for (size_t r = 0; r < row.size(); ++r) {
      if (!live[target[r]]) continue;
      run_sum(w, begin[r + 1] - begin[r], weight.data() + begin[r], offset.data() + begin[r],
              base, out + row[r] * w);
    }
  }
};

// Pre-activations of one step for one chunk, in the live gate rows (``rows``, see live_rows):
// gx (inputs, edges), gh (own layer, bias_h).
template <typename T>
void step_preactivations(const Problem<T>& p, int64_t s, const Chunk& ch, const uint8_t* live,
                         const Spans& rows, const EdgeRuns<T>& x_runs,
                         const EdgeRuns<T>& h_runs, T* gx, T* gh) {
  const int64_t gn = p.gate_rows(), w = ch.width, kk = ch.kk, b0 = ch.b0;
  const bool tokens = p.drive == nullptr;
  const int32_t* id = tokens ? p.ids + (s * p.k + kk) * p.batch + b0 : nullptr;
  const T* table = tokens ? p.table + kk * gn * p.table_rows : nullptr;
  const T* bias = p.bias_h + kk * gn;
  for (const auto& [begin, end] : rows) {
    for (int64_t r = begin; r < end; ++r) {
      if (tokens) {
        gather(w, table + r * p.table_rows, p.table_rows, id, gx + r * w);
      } else {
        const T* src = p.drive + ((s * p.k + kk) * gn + r) * p.batch + b0;
        std::memcpy(gx + r * w, src, sizeof(T) * w);
      }
      T* __restrict__ out = gh + r * w;
      for (int64_t b = 0; b < w; ++b) out[b] = bias[r];
    }
  }
  const T* now = p.state(p.lags + s, kk, 0) + b0;
  x_runs.sum(w, live, now, gx);
  h_runs.sum(w, live, now, gh);
}

// The cells' elementwise math over ``w`` batch rows of one neuron, as free functions with
// unaliased pointers so the compiler vectorises them.
template <typename T>
void gru_forward(int64_t w, const T* __restrict__ xr, const T* __restrict__ xz,
                 const T* __restrict__ xn, const T* __restrict__ hr, const T* __restrict__ hz,
                 const T* __restrict__ hn, const T* __restrict__ h_prev, T* __restrict__ r_out,
                 T* __restrict__ z_out, T* __restrict__ n_out, T* __restrict__ hn_out,
                 T* __restrict__ h) {
  for (int64_t b = 0; b < w; ++b) {
    T r = sigmoid_of(xr[b] + hr[b]);
    T z = sigmoid_of(xz[b] + hz[b]);
    T cand = tanh_of(xn[b] + r * hn[b]);
    r_out[b] = r;
    z_out[b] = z;
    n_out[b] = cand;
    hn_out[b] = hn[b];
    h[b] = (cand + z * (h_prev[b] - cand));
  }
}

template <typename T>
void lstm_forward(int64_t w, const T* __restrict__ xi, const T* __restrict__ xf,
                  const T* __restrict__ xg, const T* __restrict__ xo, const T* __restrict__ hi,
                  const T* __restrict__ hf, const T* __restrict__ hg, const T* __restrict__ ho,
                  const T* __restrict__ c_prev, T* __restrict__ i_out, T* __restrict__ f_out,
                  T* __restrict__ g_out, T* __restrict__ o_out, T* __restrict__ c_new,
                  T* __restrict__ h) {
  for (int64_t b = 0; b < w; ++b) {
    T vi = sigmoid_of(xi[b] + hi[b]);
    T vf = sigmoid_of(xf[b] + hf[b]);
    T vg = tanh_of(xg[b] + hg[b]);
    T vo = sigmoid_of(xo[b] + ho[b]);
    i_out[b] = vi;
    f_out[b] = vf;
    g_out[b] = vg;
    o_out[b] = vo;
    T c = vf * c_prev[b] + vi * vg;
    c_new[b] = c;
    h[b] = vo * tanh_of(c);
  }
}

template <typename T>
void simple_forward(int64_t w, bool relu, const T* __restrict__ x,
                    const T* __restrict__ hid, T* __restrict__ h) {
  if (relu) {
    for (int64_t b = 0; b < w; ++b) {
      T v = x[b] + hid[b];
      h[b] = (v < T(0) ? T(0) : v);
    }
  } else {
    for (int64_t b = 0; b < w; ++b) h[b] = tanh_of(x[b] + hid[b]);
  }
}

// One step of the cell for one chunk; writes the new state and, when saving, the
// activations the backward needs (else into ``scratch``).
template <typename T>
void step_cell(const Problem<T>& p, int64_t s, const Chunk& ch, const uint8_t* live,
               const T* gx, const T* gh, T* scratch) {
  const int64_t n = p.n, w = ch.width, kk = ch.kk, b0 = ch.b0;
  const bool saving = p.acts != nullptr;
  for (int64_t i = 0; i < n; ++i) {
    T* h = p.state(p.lags + s, kk, i) + b0;
    if (!live[i]) {  // no activations are read; the state only at time -1 (see fill_live)
      if (s + 1 != p.layer[kk * n + i]) continue;
      std::fill(h, h + w, T(0));
      if (p.cell == LSTM) {
        T* c = p.cell_state(s + 1, kk, i) + b0;
        std::fill(c, c + w, T(0));
      }
      continue;
    }
    const T* h_prev = p.state(p.lags + s - 1, kk, i) + b0;
    auto act = [&](int64_t gate) {
      return saving ? p.act(s, kk, gate * n + i) + b0 : scratch + gate * w;
    };
    auto x = [&](int64_t gate) { return gx + (gate * n + i) * w; };
    auto hid = [&](int64_t gate) { return gh + (gate * n + i) * w; };
    if (p.cell == GRU) {
      gru_forward(w, x(0), x(1), x(2), hid(0), hid(1), hid(2), h_prev, act(0), act(1),
                  act(2), act(3), h);
    } else if (p.cell == LSTM) {
      lstm_forward(w, x(0), x(1), x(2), x(3), hid(0), hid(1), hid(2), hid(3),
                   p.cell_state(s, kk, i) + b0, act(0), act(1), act(2), act(3),
                   p.cell_state(s + 1, kk, i) + b0, h);
    } else {
      simple_forward(w, p.cell == RNN_RELU, x(0), hid(0), h);
    }
  }
}

// Rows of the batch one pass works on. Smaller blocks keep a step's pre-activations in
// the L1 cache, but each edge's loop then does less work per setup: measured on 32 GRU
// candidates (thesis preset, batch 128), 16/32/64/128 rows took 31.7/24.1/21.3/20.6 ms per
// training batch, so one block spans the default batch.
#ifndef SPARSE_NAS_BLOCK
#define SPARSE_NAS_BLOCK 128
#endif
constexpr int64_t BLOCK = SPARSE_NAS_BLOCK;

template <typename F>
void for_blocks(const Chunk& ch, const F& body) {
  for (int64_t b = 0; b < ch.width; b += BLOCK)
    body(Chunk{ch.kk, ch.b0 + b, std::min(BLOCK, ch.width - b)});
}

template <typename T>
void forward_item(const Problem<T>& p, const Chunk& item) {
  const int64_t gn = p.gate_rows();
  std::vector<T> gx(gn * BLOCK), gh(gn * BLOCK), scratch(4 * BLOCK);
  std::vector<uint8_t> live(p.n);
  Spans rows;
  const int64_t kk = item.kk, slot = p.k * p.n * p.batch;
  const EdgeRuns<T> x_runs(p.x_edges + kk * p.x_width * 4, p.x_count[kk], 4, 2,
                           p.w_x + kk * gn * p.n, p.n, slot, p.batch);
  const EdgeRuns<T> h_runs(p.h_edges + kk * p.h_width * 3, p.h_count[kk], 3, -1,
                           p.w_h + kk * gn * p.n, p.n, slot, p.batch);
  for_blocks(item, [&](const Chunk& ch) {
    for (int64_t s = 0; s < p.steps; ++s) {
      p.fill_live(ch.kk, s, live);
      live_rows(live.data(), p.n, p.gates, rows);
      step_preactivations(p, s, ch, live.data(), rows, x_runs, h_runs, gx.data(), gh.data());
      step_cell(p, s, ch, live.data(), gx.data(), gh.data(), scratch.data());
    }
  });
}

// The cells' derivatives over ``w`` batch rows of one neuron (see the forward functions);
// ``g`` is the gradient reaching the new state.
template <typename T>
void gru_backward(int64_t w, const T* __restrict__ g, const T* __restrict__ r,
                  const T* __restrict__ z, const T* __restrict__ cand, const T* __restrict__ hn,
                  const T* __restrict__ h_prev, T* __restrict__ direct, T* __restrict__ dxr,
                  T* __restrict__ dxz, T* __restrict__ dxn, T* __restrict__ dhr,
                  T* __restrict__ dhz, T* __restrict__ dhn) {
  for (int64_t b = 0; b < w; ++b) {
    T gk = g[b];
    T d_cand = gk * (T(1) - z[b]) * (T(1) - cand[b] * cand[b]);
    T d_r = d_cand * hn[b] * r[b] * (T(1) - r[b]);
    T d_z = gk * (h_prev[b] - cand[b]) * z[b] * (T(1) - z[b]);
    dxr[b] = d_r;
    dxz[b] = d_z;
    dxn[b] = d_cand;
    dhr[b] = d_r;
    dhz[b] = d_z;
    dhn[b] = d_cand * r[b];
    direct[b] += gk * z[b];
  }
}

template <typename T>
void lstm_backward(int64_t w, const T* __restrict__ g, const T* __restrict__ gi,
                   const T* __restrict__ gf, const T* __restrict__ gg, const T* __restrict__ go,
                   const T* __restrict__ c_prev, const T* __restrict__ c_new,
                   T* __restrict__ grad_c, T* __restrict__ di, T* __restrict__ df,
                   T* __restrict__ dg, T* __restrict__ d_o) {
  for (int64_t b = 0; b < w; ++b) {
    T gk = g[b];
    T tc = tanh_of(c_new[b]);
    T c_grad = grad_c[b] + gk * go[b] * (T(1) - tc * tc);
    di[b] = c_grad * gg[b] * gi[b] * (T(1) - gi[b]);
    df[b] = c_grad * c_prev[b] * gf[b] * (T(1) - gf[b]);
    dg[b] = c_grad * gi[b] * (T(1) - gg[b] * gg[b]);
    d_o[b] = gk * tc * go[b] * (T(1) - go[b]);
    grad_c[b] = c_grad * gf[b];
  }
}

template <typename T>
void simple_backward(int64_t w, bool relu, const T* __restrict__ g,
                     const T* __restrict__ h, T* __restrict__ d) {
  if (relu) {
    for (int64_t b = 0; b < w; ++b) d[b] = h[b] > T(0) ? g[b] : T(0);
  } else {
    for (int64_t b = 0; b < w; ++b) d[b] = g[b] * (T(1) - h[b] * h[b]);
  }
}

// The state gradients of one block: a ring of the lags + 1 slots the backward step can touch
// (step s reads slot lags + s and adds into slots s .. lags + s - 1), so the block's
// gradients stay in the cache and no (lags + S, K, N, B) tensor is allocated or zeroed.
template <typename T>
struct GradRing {
  T* data;  // (lags + 1, N, w)
  int64_t slots, n, w;
  T* at(int64_t slot, int64_t neuron) const { return data + ((slot % slots) * n + neuron) * w; }
};

// Gradients of one step for one chunk: fills d(gates_in) ``dx`` and d(gates_hidden) ``dh``
// (G*N rows of the chunk's width; only the GRU fills ``dh``: the other cells add their two
// pre-activations, so both gradients are ``dx``), adds the direct gradient to h_prev into the state
// gradients, and carries the LSTM's cell gradient ``grad_c`` back one step.
template <typename T>
void step_cell_backward(const Problem<T>& p, const GradRing<T>& grad, int64_t s,
                        const Chunk& ch, const uint8_t* live, T* dx, T* dh, T* grad_c) {
  const int64_t n = p.n, w = ch.width, kk = ch.kk, b0 = ch.b0;
  auto grad_state = [&](int64_t slot, int64_t neuron) { return grad.at(slot, neuron); };
  for (int64_t i = 0; i < n; ++i) {
    if (!live[i]) {  // no gradient reaches or leaves a neuron outside its sequence: its
      // rows of dx and dh are not read (see live_rows)
      if (p.cell == LSTM) std::fill(grad_c + i * w, grad_c + (i + 1) * w, T(0));
      continue;
    }
    const T* g = grad_state(p.lags + s, i);
    auto act = [&](int64_t gate) { return p.act(s, kk, gate * n + i) + b0; };
    auto d_in = [&](int64_t gate) { return dx + (gate * n + i) * w; };
    if (p.cell == GRU) {
      gru_backward(w, g, act(0), act(1), act(2), act(3),
                   p.state(p.lags + s - 1, kk, i) + b0, grad_state(p.lags + s - 1, i), d_in(0),
                   d_in(1), d_in(2), dh + i * w, dh + (n + i) * w, dh + (2 * n + i) * w);
    } else if (p.cell == LSTM) {
      lstm_backward(w, g, act(0), act(1), act(2), act(3), p.cell_state(s, kk, i) + b0,
                    p.cell_state(s + 1, kk, i) + b0, grad_c + i * w, d_in(0), d_in(1), d_in(2),
                    d_in(3));
    } else {
      simple_backward(w, p.cell == RNN_RELU, g, p.state(p.lags + s, kk, i) + b0, d_in(0));
    }
  }
}

// Per-item weight gradient buffers (summed over a candidate's chunks afterwards).
template <typename T>
struct ItemGrads {
  T* w_x;     // (G*N, N)
  T* w_h;     // (G*N, N)
  T* bias_h;  // (G*N,)
  T* table;   // token mode: (R, G*N) (the transpose of the input's layout), else nullptr
  T* drive;   // dense mode: whole (S, K, G*N, B) gradient, else nullptr
};

// One run of edges that read one state (a source neuron at one lag), so that all add into
// one state gradient ``g``: g += weight[e] * d[e] for every edge, and dot[e] = <d[e], read>,
// each edge's weight gradient. The tile of ``g`` and of ``read`` stays in registers across
// the run, where a multiply-add per edge would load and store both at every edge. Each dot
// product is summed in eight lanes (lane j: rows j, j + 8, ... in order), then the tail.
template <typename T>
INLINE void run_grad(int64_t w, int64_t count, const T* __restrict__ weight,
                     const T* const* __restrict__ d, const T* __restrict__ read,
                     T* __restrict__ g, T* __restrict__ dot) {
  Vec<T> partial[RUN];
  for (int64_t e = 0; e < count; ++e) partial[e] = Vec<T>{};
  int64_t b = 0;
  for (; b + TILE <= w; b += TILE) {
    Vec<T> acc[TILE_VECTORS], r[TILE_VECTORS];
    for (int64_t v = 0; v < TILE_VECTORS; ++v) {
      acc[v] = load(g + b + v * LANES);
      r[v] = load(read + b + v * LANES);
    }
    for (int64_t e = 0; e < count; ++e) {
      const T* de = d[e] + b;
      Vec<T> lane = partial[e];
      for (int64_t v = 0; v < TILE_VECTORS; ++v) {
        const Vec<T> dv = load(de + v * LANES);
        acc[v] += weight[e] * dv;
        lane += dv * r[v];
      }
      partial[e] = lane;
    }
    for (int64_t v = 0; v < TILE_VECTORS; ++v) store(g + b + v * LANES, acc[v]);
  }
  for (; b + LANES <= w; b += LANES) {
    Vec<T> acc = load(g + b);
    const Vec<T> r = load(read + b);
    for (int64_t e = 0; e < count; ++e) {
      const Vec<T> dv = load(d[e] + b);
      acc += weight[e] * dv;
      partial[e] += dv * r;
    }
    store(g + b, acc);
  }
  for (int64_t e = 0; e < count; ++e) {
    T sum = 0;
    for (int64_t t = b; t < w; ++t) {
      g[t] += weight[e] * d[e][t];
      sum += d[e][t] * read[t];
    }
    dot[e] = lane_sum(sum, partial[e]);
  }
}

// One candidate's edge list (``stride`` ints per edge: gate row, source neuron, [lag,]
// target neuron) as runs of edges that read one state (a source at one lag; own-layer edges,
// without a lag column, read lag 1), prepared once per call: the backward's runs. Within a
// run the edges keep the list's order (a stable counting sort by the state read).
template <typename T>
struct ReadRuns {
  std::vector<int64_t> lag, source, begin;        // per run (begin: one more, the end)
  std::vector<int64_t> row, target, place;         // per edge: gate row, target, in (G*N, N)
  std::vector<T> weight;

  ReadRuns(const int32_t* edges, int32_t count, int64_t stride, int64_t lag_column,
           const T* weights, int64_t n, int64_t lags) {
    auto key = [&](int32_t e) {
      const int32_t* edge = edges + e * stride;
      return (lag_column < 0 ? 1 : edge[lag_column]) * n + edge[1];
    };
    std::vector<int32_t> start((lags + 1) * n + 1, 0), order(count);
    for (int32_t e = 0; e < count; ++e) ++start[key(e) + 1];
    for (size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
    for (int32_t e = 0; e < count; ++e) order[start[key(e)]++] = e;
    int64_t previous = -1;
    for (const int32_t e : order) {
      const int32_t* edge = edges + e * stride;
      if (key(e) != previous || int64_t(row.size()) - begin.back() >= RUN) {
        previous = key(e);
        lag.push_back(lag_column < 0 ? 1 : edge[lag_column]);
        source.push_back(edge[1]);
        begin.push_back(int64_t(row.size()));
      }
      row.push_back(edge[0]);
      target.push_back(edge[stride - 1]);
      place.push_back(int64_t(edge[0]) * n + edge[1]);
      weight.push_back(weights[place.back()]);
    }
    begin.push_back(int64_t(row.size()));
  }
};

// Walks the runs, skipping edges whose target is not live; adds each edge's weight gradient
// into ``grad_w`` (G*N, N) and its share of the state gradient into the ring. ``d`` is the
// list's gate gradients (G*N rows of ``w``).
template <typename T>
void grad_edges(const Problem<T>& p, const GradRing<T>& grad, int64_t s, const Chunk& ch,
                const ReadRuns<T>& runs, const uint8_t* live, const T* d, T* grad_w) {
  const int64_t w = ch.width;
  T weight[RUN], dot[RUN];
  const T* gate[RUN];
  int64_t place[RUN];
  for (size_t r = 0; r + 1 < runs.begin.size(); ++r) {
    int64_t run = 0;
    for (int64_t e = runs.begin[r]; e < runs.begin[r + 1]; ++e) {
      if (!live[runs.target[e]]) continue;
      place[run] = runs.place[e];
      weight[run] = runs.weight[e];
      gate[run] = d + runs.row[e] * w;
      ++run;
    }
    if (run == 0) continue;
    const int64_t slot = p.lags + s - runs.lag[r], source = runs.source[r];
    run_grad(w, run, weight, gate, p.state(slot, ch.kk, source) + ch.b0, grad.at(slot, source),
             dot);
    for (int64_t i = 0; i < run; ++i) grad_w[place[i]] += dot[i];
  }
}

// The sum of ``w`` rows, in eight lanes then the tail (run_grad's order).
template <typename T>
INLINE T row_sum(int64_t w, const T* __restrict__ d) {
  Vec<T> partial{};
  int64_t b = 0;
  for (; b + LANES <= w; b += LANES) partial += load(d + b);
  T sum = 0;
  for (; b < w; ++b) sum += d[b];
  return lane_sum(sum, partial);
}

// <a, b> over ``w`` rows, in eight lanes then the tail (row_sum's order).
template <typename T>
INLINE T dot(int64_t w, const T* __restrict__ a, const T* __restrict__ b) {
  Vec<T> partial{};
  int64_t j = 0;
  for (; j + LANES <= w; j += LANES) partial += load(a + j) * load(b + j);
  T sum = 0;
  for (; j < w; ++j) sum += a[j] * b[j];
  return lane_sum(sum, partial);
}

template <typename T>
void backward_block(const Problem<T>& p, const Chunk& ch, const GradRing<T>& grad,
                    const T* grad_last, const int64_t* last_time, const ItemGrads<T>& out,
                    const ReadRuns<T>& x_runs, const ReadRuns<T>& h_runs, T* dx, T* dh,
                    T* grad_c) {
  const int64_t gn = p.gate_rows(), n = p.n, w = ch.width, kk = ch.kk, b0 = ch.b0;
  auto grad_state = [&](int64_t slot, int64_t neuron) { return grad.at(slot, neuron); };
  std::fill(grad.data, grad.data + grad.slots * n * w, T(0));
  std::vector<uint8_t> live(n);
  Spans rows;
  // Neuron i reads row b's last input at step last_time[b] + layer[i], where the read-out's
  // gradient enters: the (neuron, row) pairs bucketed by that step once per block, so a step
  // visits its own pairs only (a scan of every pair at every step cost a third of the loop).
  auto read_at = [&](int64_t i, int64_t b) {
    return last_time[kk * p.batch + b0 + b] + p.layer[kk * n + i];
  };
  std::vector<int64_t> first(p.steps + 2, 0);  // step s's pairs: [first[s], first[s + 1])
  std::vector<std::pair<int64_t, int64_t>> reads(n * w);
  for (int64_t b = 0; b < w; ++b)
    for (int64_t i = 0; i < n; ++i)
      if (read_at(i, b) < p.steps) ++first[read_at(i, b) + 2];
  std::partial_sum(first.begin(), first.end(), first.begin());
  for (int64_t b = 0; b < w; ++b)
    for (int64_t i = 0; i < n; ++i)
      if (read_at(i, b) < p.steps) reads[first[read_at(i, b) + 1]++] = {i, b};
  for (int64_t s = p.steps - 1; s >= 0; --s) {
    // Slot s is first added to now; its ring place held slot lags + s + 1, last read by
    // step s + 1. Slot lags + s is complete but for the read-out of the neurons whose row
    // ends at s.
    std::fill(grad_state(s, 0), grad_state(s, 0) + n * w, T(0));
    for (int64_t e = first[s]; e < first[s + 1]; ++e) {
      const auto [i, b] = reads[e];
      grad_state(p.lags + s, i)[b] += grad_last[(kk * n + i) * p.batch + b0 + b];
    }
    p.fill_live(kk, s, live);
    live_rows(live.data(), n, p.gates, rows);
    step_cell_backward(p, grad, s, ch, live.data(), dx, dh, grad_c);
    if (out.drive != nullptr) {
      for (int64_t r = 0; r < gn; ++r) {
        T* to = out.drive + ((s * p.k + kk) * gn + r) * p.batch + b0;
        if (live[r % n]) std::memcpy(to, dx + r * w, sizeof(T) * w);
        else std::fill(to, to + w, T(0));
      }
    } else {
      // Row by row, so the G*N additions of one row are independent (the other order
      // chains each token's repeated additions through memory).
      const int32_t* id = p.ids + (s * p.k + kk) * p.batch + b0;
      for (int64_t b = 0; b < w; ++b) {
        T* __restrict__ row = out.table + int64_t(id[b]) * gn;
        const T* __restrict__ d = dx + b;
        for (const auto& [begin, end] : rows)
          for (int64_t r = begin; r < end; ++r) row[r] += d[r * w];
      }
    }
    for (const auto& [begin, end] : rows)
      for (int64_t r = begin; r < end; ++r) out.bias_h[r] += row_sum(w, dh + r * w);
    grad_edges(p, grad, s, ch, h_runs, live.data(), dh, out.w_h);
    grad_edges(p, grad, s, ch, x_runs, live.data(), dx, out.w_x);
  }
}

template <typename T>
void backward_item(const Problem<T>& p, const Chunk& item, const T* grad_last,
                   const int64_t* last_time, const ItemGrads<T>& out) {
  const int64_t gn = p.gate_rows(), n = p.n, kk = item.kk;
  std::vector<T> dx(gn * BLOCK), dh(gn * BLOCK), grad_c(n * BLOCK);
  std::vector<T> ring((p.lags + 1) * n * BLOCK);
  const ReadRuns<T> x_runs(p.x_edges + kk * p.x_width * 4, p.x_count[kk], 4, 2,
                           p.w_x + kk * gn * n, n, p.lags);
  const ReadRuns<T> h_runs(p.h_edges + kk * p.h_width * 3, p.h_count[kk], 3, -1,
                           p.w_h + kk * gn * n, n, p.lags);
  for_blocks(item, [&](const Chunk& ch) {  // the runs are the item's, whatever the block
    std::fill(grad_c.begin(), grad_c.end(), T(0));
    const GradRing<T> grad{ring.data(), p.lags + 1, n, ch.width};
    backward_block(p, ch, grad, grad_last, last_time, out, x_runs, h_runs, dx.data(),
                   p.cell == GRU ? dh.data() : dx.data(), grad_c.data());
  });
}

void check_inputs(const at::Tensor& w_x, const at::Tensor& x_edges, const at::Tensor& h_edges) {
  TORCH_CHECK(w_x.device().is_cpu(), "the fused recurrence runs on the CPU only");
  TORCH_CHECK(x_edges.scalar_type() == at::kInt && h_edges.scalar_type() == at::kInt,
              "edge lists must be int32");
  TORCH_CHECK(x_edges.is_contiguous() && h_edges.is_contiguous(), "edge lists must be contiguous");
}

template <typename T>
Problem<T> make_problem(int64_t cell, int64_t lags, const at::Tensor& drive,
                        const at::Tensor& ids, const at::Tensor& table_t, const at::Tensor& w_x,
                        const at::Tensor& x_edges, const at::Tensor& x_count,
                        const at::Tensor& w_h, const at::Tensor& h_edges,
                        const at::Tensor& h_count, const at::Tensor& bias_h,
                        const at::Tensor& layer, int64_t length) {
  Problem<T> p{};
  p.cell = cell;
  p.k = w_x.size(0);
  p.n = w_x.size(2);
  p.gates = w_x.size(1) / p.n;
  p.lags = lags;
  const bool tokens = ids.defined() && ids.numel() > 0;
  p.steps = tokens ? ids.size(0) : drive.size(0);
  p.batch = tokens ? ids.size(2) : drive.size(3);
  p.table_rows = tokens ? table_t.size(2) : 0;
  p.drive = tokens ? nullptr : drive.data_ptr<T>();
  p.ids = tokens ? ids.data_ptr<int32_t>() : nullptr;
  p.table = tokens ? table_t.data_ptr<T>() : nullptr;
  p.w_x = w_x.data_ptr<T>();
  p.x_edges = x_edges.data_ptr<int32_t>();
  p.x_count = x_count.data_ptr<int32_t>();
  p.x_width = x_edges.size(1);
  p.w_h = w_h.data_ptr<T>();
  p.h_edges = h_edges.data_ptr<int32_t>();
  p.h_count = h_count.data_ptr<int32_t>();
  p.h_width = h_edges.size(1);
  p.bias_h = bias_h.data_ptr<T>();
  p.layer = layer.data_ptr<int32_t>();
  p.length = length;
  return p;
}

// The per-batch products around the recurrence, so that a batch's forward and backward are a
// few compiled calls instead of a dozen small framework operations (each a dispatch and, on
// two threads, a fork and join): the token table and the read-out, and their gradients.
// Their tensors are per-parameter views of the stack's flat leaf: rows contiguous, the
// candidates ``stride`` apart.
template <typename T>
struct Slab {
  T* data;
  int64_t k, rows, cols, stride;
  T* at(int64_t kk, int64_t row) const { return data + kk * stride + row * cols; }
};

template <typename T>
Slab<T> slab(const at::Tensor& t) {
  TORCH_CHECK(t.dim() == 2 || t.dim() == 3, "expected a (K, n) or (K, rows, n) tensor");
  TORCH_CHECK(t.stride(-1) == 1 && (t.dim() == 2 || t.stride(1) == t.size(2)),
              "expected contiguous rows");
  return {t.data_ptr<T>(), t.size(0), t.dim() == 3 ? t.size(1) : 1, t.size(-1), t.stride(0)};
}

// to[j] += scale * from[j] for ``count`` entries (vectorised: no reduction).
template <typename T>
INLINE void axpy(int64_t count, T scale, const T* __restrict__ from, T* __restrict__ to) {
  for (int64_t j = 0; j < count; ++j) to[j] += scale * from[j];
}

// (K, V, D) embedding, (K, G*N, D) weight_in, (K, G*N) bias_x -> the transposed token table
// (K, G*N, V + 1): column v is token v's input projection plus bias_x, column V (the idle
// token, whose embedding is zero) bias_x alone; models/engine/drive.py's token_table,
// transposed.
at::Tensor token_table(at::Tensor embedding, at::Tensor weight_in, at::Tensor bias_x) {
  at::Tensor out;
  AT_DISPATCH_FLOATING_TYPES(weight_in.scalar_type(), "token_table", [&] {
    using T = scalar_t;
    const auto e = slab<T>(embedding), w = slab<T>(weight_in), b = slab<T>(bias_x);
    const int64_t vocab = e.rows, dim = e.cols, gn = w.rows, rows = vocab + 1;
    TORCH_CHECK(w.cols == dim && b.cols == gn && w.k == e.k && b.k == e.k,
                "token_table: mismatched sizes");
    out = at::empty({e.k, gn, rows}, weight_in.options());
    T* o = out.data_ptr<T>();
    run_items(e.k, [&](int64_t kk) {
      std::vector<T> by_dim(dim * vocab);  // the embedding transposed: (D, V)
      for (int64_t v = 0; v < vocab; ++v)
        for (int64_t d = 0; d < dim; ++d) by_dim[d * vocab + v] = e.at(kk, v)[d];
      for (int64_t r = 0; r < gn; ++r) {
        T* row = o + (kk * gn + r) * rows;
        const T* weights = w.at(kk, r);
        std::fill(row, row + vocab, T(0));
        for (int64_t d = 0; d < dim; ++d) axpy(vocab, weights[d], by_dim.data() + d * vocab, row);
        const T bias = b.at(kk, 0)[r];
        for (int64_t v = 0; v < vocab; ++v) row[v] += bias;
        row[vocab] = bias;
      }
    });
  });
  return out;
}

// The token table's gradient (K, V + 1, G*N) (token-major, as backward gives it) -> the
// gradients of bias_x (every column), weight_in and the embedding (the V real tokens),
// written into the given views.
void token_table_backward(at::Tensor grad, at::Tensor embedding, at::Tensor weight_in,
                          at::Tensor grad_bias_x, at::Tensor grad_weight_in,
                          at::Tensor grad_embedding) {
  TORCH_CHECK(grad.is_contiguous() && grad.dim() == 3, "token_table_backward: bad gradient");
  AT_DISPATCH_FLOATING_TYPES(weight_in.scalar_type(), "token_table_backward", [&] {
    using T = scalar_t;
    const auto e = slab<T>(embedding), w = slab<T>(weight_in);
    const auto gb = slab<T>(grad_bias_x), gw = slab<T>(grad_weight_in);
    const auto ge = slab<T>(grad_embedding);
    const int64_t vocab = e.rows, dim = e.cols, gn = w.rows, rows = vocab + 1;
    TORCH_CHECK(grad.size(0) == e.k && grad.size(1) == rows && grad.size(2) == gn,
                "token_table_backward: the gradient must be (K, V + 1, G*N)");
    const T* all = grad.data_ptr<T>();
    run_items(e.k, [&](int64_t kk) {
      const T* g = all + kk * rows * gn;  // (V + 1, G*N)
      T* bias = gb.at(kk, 0);
      std::fill(bias, bias + gn, T(0));
      for (int64_t v = 0; v < rows; ++v) axpy(gn, T(1), g + v * gn, bias);
      for (int64_t r = 0; r < gn; ++r) {
        T* to = gw.at(kk, r);
        std::fill(to, to + dim, T(0));
        for (int64_t v = 0; v < vocab; ++v) axpy(dim, g[v * gn + r], e.at(kk, v), to);
      }
      for (int64_t v = 0; v < vocab; ++v) {
        T* to = ge.at(kk, v);
        std::fill(to, to + dim, T(0));
        for (int64_t r = 0; r < gn; ++r) axpy(dim, g[v * gn + r], w.at(kk, r), to);
      }
    });
  });
}

// Last states (K, N, B), read-out weights (K, C, N) and bias (K, C) -> logits (K, B, C).
at::Tensor readout(at::Tensor last, at::Tensor weight, at::Tensor bias) {
  TORCH_CHECK(last.is_contiguous() && last.dim() == 3, "readout: last states (K, N, B)");
  at::Tensor out;
  AT_DISPATCH_FLOATING_TYPES(last.scalar_type(), "readout", [&] {
    using T = scalar_t;
    const auto w = slab<T>(weight), b = slab<T>(bias);
    const int64_t n = last.size(1), batch = last.size(2), classes = w.rows;
    TORCH_CHECK(w.cols == n && b.cols == classes && w.k == last.size(0), "readout: sizes");
    out = at::empty({w.k, batch, classes}, last.options());
    const T* states = last.data_ptr<T>();
    T* o = out.data_ptr<T>();
    run_items(w.k, [&](int64_t kk) {
      std::vector<T> sums(batch);
      const T* s = states + kk * n * batch;
      for (int64_t c = 0; c < classes; ++c) {
        std::fill(sums.begin(), sums.end(), T(0));
        const T* weights = w.at(kk, c);
        for (int64_t i = 0; i < n; ++i) axpy(batch, weights[i], s + i * batch, sums.data());
        const T shift = b.at(kk, 0)[c];
        for (int64_t row = 0; row < batch; ++row)
          o[(kk * batch + row) * classes + c] = sums[row] + shift;
      }
    });
  });
  return out;
}

// The logits' gradient (K, B, C) -> the read-out's weight and bias gradients (written into
// the given views) and the last states' gradient (K, N, B), returned.
at::Tensor readout_backward(at::Tensor grad, at::Tensor weight, at::Tensor last,
                            at::Tensor grad_weight, at::Tensor grad_bias) {
  TORCH_CHECK(grad.is_contiguous() && last.is_contiguous(), "readout_backward: contiguous");
  at::Tensor grad_last;
  AT_DISPATCH_FLOATING_TYPES(last.scalar_type(), "readout_backward", [&] {
    using T = scalar_t;
    const auto w = slab<T>(weight), gw = slab<T>(grad_weight), gb = slab<T>(grad_bias);
    const int64_t n = last.size(1), batch = last.size(2), classes = w.rows;
    TORCH_CHECK(grad.size(0) == w.k && grad.size(1) == batch && grad.size(2) == classes,
                "readout_backward: the gradient must be (K, B, C)");
    grad_last = at::empty_like(last);
    const T* g_all = grad.data_ptr<T>();
    const T* s_all = last.data_ptr<T>();
    T* out_all = grad_last.data_ptr<T>();
    run_items(w.k, [&](int64_t kk) {
      std::vector<T> by_class(classes * batch);  // the gradient transposed: (C, B)
      const T* g = g_all + kk * batch * classes;
      for (int64_t row = 0; row < batch; ++row)
        for (int64_t c = 0; c < classes; ++c) by_class[c * batch + row] = g[row * classes + c];
      const T* s = s_all + kk * n * batch;
      for (int64_t c = 0; c < classes; ++c) {
        const T* gc = by_class.data() + c * batch;
        gb.at(kk, 0)[c] = row_sum(batch, gc);
        for (int64_t i = 0; i < n; ++i) gw.at(kk, c)[i] = dot(batch, gc, s + i * batch);
      }
      T* out = out_all + kk * n * batch;
      std::fill(out, out + n * batch, T(0));
      for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < classes; ++c)
          axpy(batch, w.at(kk, c)[i], by_class.data() + c * batch, out + i * batch);
    });
  });
  return grad_last;
}

}  // namespace

// (K, B, T) int64 token ids, (K,) int64 layer shifts -> (total, K, B) int32 column of the
// token table each global step reads: candidate k sees its time j at global step j + shift[k];
// before and after its sequence it reads ``idle`` (the bias-only column).
at::Tensor token_ids(at::Tensor inputs, at::Tensor shift, int64_t total, int64_t idle) {
  TORCH_CHECK(inputs.scalar_type() == at::kLong && shift.scalar_type() == at::kLong &&
                  inputs.dim() == 3 && shift.dim() == 1 && shift.size(0) == inputs.size(0),
              "token_ids: inputs (K, B, T) and shift (K,) must be int64");
  auto in = inputs.contiguous();
  const int64_t k = in.size(0), batch = in.size(1), steps = in.size(2);
  auto out = at::empty({total, k, batch}, in.options().dtype(at::kInt));
  const int64_t* x = in.data_ptr<int64_t>();
  const int64_t* sh = shift.contiguous().data_ptr<int64_t>();
  int32_t* o = out.data_ptr<int32_t>();
  for (int64_t s = 0; s < total; ++s) {
    for (int64_t c = 0; c < k; ++c) {
      const int64_t local = s - sh[c];
      int32_t* row = o + (s * k + c) * batch;
      if (local < 0 || local >= steps) {
        std::fill(row, row + batch, static_cast<int32_t>(idle));
        continue;
      }
      const int64_t* column = x + c * batch * steps + local;
      for (int64_t b = 0; b < batch; ++b) row[b] = static_cast<int32_t>(column[b * steps]);
    }
  }
  return out;
}

// Returns {states, acts, cells, last}; acts and cells are empty unless needed (``save``,
// LSTM); last (K, N, B) is each neuron's state once it has read its row's last input, at
// position ``last_time`` (K, B): after global step last_time + layer (0 for a padded neuron,
// whose step lies past the end). ``reuse``: when given, the (states, acts, cells) tensors to
// resize and write into, kept from batch to batch by the caller (their storage is replaced
// only when it must grow).
std::vector<at::Tensor> forward_into(int64_t cell, int64_t lags, at::Tensor last_time,
                                     at::Tensor drive, at::Tensor ids, at::Tensor table_t,
                                     at::Tensor w_x, at::Tensor x_edges, at::Tensor x_count,
                                     at::Tensor w_h, at::Tensor h_edges, at::Tensor h_count,
                                     at::Tensor bias_h, at::Tensor layer, int64_t length,
                                     bool save, std::vector<at::Tensor>* reuse) {
  check_inputs(w_x, x_edges, h_edges);
  TORCH_CHECK(last_time.scalar_type() == at::kLong && last_time.is_contiguous(),
              "last_time must be contiguous int64");
  at::Tensor states, acts, cells, last;
  AT_DISPATCH_FLOATING_TYPES(w_x.scalar_type(), "fused_recurrence_forward", [&] {
    auto p = make_problem<scalar_t>(cell, lags, drive, ids, table_t, w_x, x_edges, x_count, w_h,
                                    h_edges, h_count, bias_h, layer, length);
    if (p.ids != nullptr) {  // a bad token would read outside its table: refuse it
      const int64_t count = ids.numel();
      bool valid = true;
      for (int64_t i = 0; i < count; ++i) valid &= p.ids[i] >= 0 && p.ids[i] < p.table_rows;
      TORCH_CHECK(valid, "token ids must lie in [0, ", p.table_rows, ")");
    }
    TORCH_CHECK(last_time.numel() == p.k * p.batch, "last_time must be (K, B)");
    auto options = w_x.options();
    auto buffer = [&](size_t which, at::IntArrayRef sizes) {
      if (reuse == nullptr) return at::empty(sizes, options);
      auto& kept = (*reuse)[which];
      TORCH_CHECK(kept.scalar_type() == w_x.scalar_type(), "reused buffer dtype");
      const auto bytes = c10::multiply_integers(sizes) * kept.element_size();
      // Growing: drop the old storage first; resize_ would copy it over and hold both
      if (kept.storage().nbytes() < size_t(bytes)) kept.set_();
      return kept.resize_(sizes);
    };
    states = buffer(0, {lags + p.steps, p.k, p.n, p.batch});
    // Of the lag slots only the last is read: a layer-0 neuron's own state at time -1. An
    // edge into a live neuron reads its source at the target's own time, which is inside the
    // written slots, and every later slot is written by its step.
    states.narrow(0, lags - 1, 1).zero_();
    const bool gated = cell == GRU || cell == LSTM;
    acts = save && gated ? buffer(1, {p.steps, p.k, 4 * p.n, p.batch}) : at::empty({0}, options);
    cells = cell == LSTM ? buffer(2, {1 + p.steps, p.k, p.n, p.batch}) : at::empty({0}, options);
    if (cell == LSTM) cells.narrow(0, 0, 1).zero_();
    p.states = states.data_ptr<scalar_t>();
    p.acts = acts.numel() > 0 ? acts.data_ptr<scalar_t>() : nullptr;
    p.cells = cells.numel() > 0 ? cells.data_ptr<scalar_t>() : nullptr;
    const int64_t chunks = chunks_for(p.k, p.batch, at::get_num_threads());
    run_items(p.k * chunks,
              [&](int64_t item) { forward_item(p, chunk_of(item, chunks, p.batch)); });
    last = at::empty({p.k, p.n, p.batch}, options);
    const int64_t* times = last_time.data_ptr<int64_t>();
    const scalar_t* all = p.states;
    scalar_t* out = last.data_ptr<scalar_t>();
    const int64_t per_step = p.k * p.n * p.batch;
    for (int64_t i = 0; i < p.k * p.batch; ++i)
      TORCH_CHECK(times[i] >= 0 && times[i] < p.length, "last_time outside the sequences");
    for (int64_t c = 0; c < p.k; ++c) {  // rows of a batch share lengths: reads mostly run on
      const int64_t* time = times + c * p.batch;
      for (int64_t row = c * p.n; row < (c + 1) * p.n; ++row) {
        scalar_t* to = out + row * p.batch;
        const scalar_t* from = all + lags * per_step + row * p.batch;
        const int64_t shift = p.layer[row];
        for (int64_t b = 0; b < p.batch; ++b) {
          const int64_t step = time[b] + shift;
          to[b] = step < p.steps ? from[step * per_step + b] : scalar_t(0);
        }
      }
    }
  });
  return {states, acts, cells, last};
}

std::vector<at::Tensor> forward(int64_t cell, int64_t lags, at::Tensor last_time,
                                at::Tensor drive, at::Tensor ids, at::Tensor table_t,
                                at::Tensor w_x, at::Tensor x_edges, at::Tensor x_count,
                                at::Tensor w_h, at::Tensor h_edges, at::Tensor h_count,
                                at::Tensor bias_h, at::Tensor layer, int64_t length, bool save) {
  return forward_into(cell, lags, last_time, drive, ids, table_t, w_x, x_edges, x_count, w_h,
                      h_edges, h_count, bias_h, layer, length, save, nullptr);
}

// Returns {grad of drive (dense mode) or of the transposed table (token mode), grad w_x,
// grad w_h, grad bias_h}.
std::vector<at::Tensor> backward(int64_t cell, int64_t lags, at::Tensor grad_last,
                                 at::Tensor last_time, at::Tensor states, at::Tensor acts,
                                 at::Tensor cells, at::Tensor drive, at::Tensor ids,
                                 at::Tensor table_t, at::Tensor w_x, at::Tensor x_edges,
                                 at::Tensor x_count, at::Tensor w_h, at::Tensor h_edges,
                                 at::Tensor h_count, at::Tensor bias_h, at::Tensor layer,
                                 int64_t length) {
  check_inputs(w_x, x_edges, h_edges);
  TORCH_CHECK(last_time.scalar_type() == at::kLong, "last_time must be int64");
  at::Tensor grad_input, grad_wx, grad_wh, grad_bh;
  AT_DISPATCH_FLOATING_TYPES(w_x.scalar_type(), "fused_recurrence_backward", [&] {
    auto p = make_problem<scalar_t>(cell, lags, drive, ids, table_t, w_x, x_edges, x_count, w_h,
                                    h_edges, h_count, bias_h, layer, length);
    p.states = states.data_ptr<scalar_t>();
    p.acts = acts.numel() > 0 ? acts.data_ptr<scalar_t>() : nullptr;
    p.cells = cells.numel() > 0 ? cells.data_ptr<scalar_t>() : nullptr;
    auto options = w_x.options();
    const int64_t chunks = chunks_for(p.k, p.batch, at::get_num_threads());
    const int64_t gn = p.gate_rows();
    auto item_wx = at::zeros({p.k, chunks, gn, p.n}, options);
    auto item_wh = at::zeros({p.k, chunks, gn, p.n}, options);
    auto item_bh = at::zeros({p.k, chunks, gn}, options);
    const bool tokens = p.ids != nullptr;
    auto item_table = tokens ? at::zeros({p.k, chunks, p.table_rows, gn}, options)
                             : at::empty({0}, options);
    grad_input = tokens ? at::empty({0}, options) : at::empty_like(drive);
    const scalar_t* g_last = grad_last.data_ptr<scalar_t>();
    const int64_t* last = last_time.data_ptr<int64_t>();
    run_items(p.k * chunks, [&](int64_t item) {
      ItemGrads<scalar_t> out{};
      out.w_x = item_wx.data_ptr<scalar_t>() + item * gn * p.n;
      out.w_h = item_wh.data_ptr<scalar_t>() + item * gn * p.n;
      out.bias_h = item_bh.data_ptr<scalar_t>() + item * gn;
      out.table = tokens ? item_table.data_ptr<scalar_t>() + item * gn * p.table_rows : nullptr;
      out.drive = tokens ? nullptr : grad_input.data_ptr<scalar_t>();
      backward_item(p, chunk_of(item, chunks, p.batch), g_last, last, out);
    });
    // One chunk per candidate (the usual case): its buffers are the gradients.
    auto total = [&](const at::Tensor& items) {
      return chunks == 1 ? items.select(1, 0) : items.sum(1);
    };
    grad_wx = total(item_wx);
    grad_wh = total(item_wh);
    grad_bh = total(item_bh);
    if (tokens) grad_input = total(item_table).transpose(1, 2);
  });
  return {grad_input, grad_wx, grad_wh, grad_bh};
}

// One step of models/engine.py's StackedAdam on every live row of the (K, total) flat leaf,
// in one pass per row where the PyTorch update makes a dozen passes over the whole leaf: the
// row's gradient norm (in double), its clip factor, then PyTorch's Adam update in place
// (the same operations in the same order as StackedAdam's fallback). Rows that are not live
// are left untouched. (The build's -fno-math-errno lets the update loop's sqrt vectorise: an
// attribute on this function would not reach the lambda that holds the loop.)
void adam_step(at::Tensor param, at::Tensor grad, at::Tensor exp_avg, at::Tensor exp_avg_sq,
               at::Tensor step_size, at::Tensor correction2, at::Tensor live, double clip_norm,
               double beta1, double beta2, double eps) {
  TORCH_CHECK(param.is_contiguous() && grad.is_contiguous() && exp_avg.is_contiguous() &&
                  exp_avg_sq.is_contiguous(),
              "adam_step needs contiguous tensors");
  TORCH_CHECK(step_size.scalar_type() == at::kDouble && correction2.scalar_type() == at::kDouble &&
                  live.scalar_type() == at::kBool,
              "adam_step: step_size and correction2 must be float64, live bool");
  const int64_t k = param.size(0), width = param.numel() / std::max<int64_t>(k, 1);
  const double* steps = step_size.data_ptr<double>();
  const double* corrections = correction2.data_ptr<double>();
  const bool* lives = live.data_ptr<bool>();
  AT_DISPATCH_FLOATING_TYPES(param.scalar_type(), "stacked_adam_step", [&] {
    using T = scalar_t;
    T* w_all = param.data_ptr<T>();
    const T* g_all = grad.data_ptr<T>();
    T* m_all = exp_avg.data_ptr<T>();
    T* v_all = exp_avg_sq.data_ptr<T>();
    run_items(k, [&](int64_t row) {
      if (!lives[row]) return;
      T* __restrict__ w = w_all + row * width;
      const T* __restrict__ g = g_all + row * width;
      T* __restrict__ m = m_all + row * width;
      T* __restrict__ v = v_all + row * width;
      constexpr int64_t lanes = 8;  // partial sums, so the reduction vectorises
      double partial[lanes] = {};
      int64_t j = 0;
      for (; j + lanes <= width; j += lanes)
        for (int64_t l = 0; l < lanes; ++l) partial[l] += double(g[j + l]) * double(g[j + l]);
      double squares = 0;
      for (; j < width; ++j) squares += double(g[j]) * double(g[j]);
      for (int64_t l = 0; l < lanes; ++l) squares += partial[l];
      const T clip = T(std::min(clip_norm / (std::sqrt(squares) + 1e-6), 1.0));
      const T lerp = T(1 - beta1), keep = T(beta2), add = T(1 - beta2), tiny = T(eps);
      const T step = T(steps[row]), correction = T(corrections[row]);
      for (j = 0; j < width; ++j) {
        const T gj = g[j] * clip;
        const T mj = m[j] + lerp * (gj - m[j]);
        const T vj = v[j] * keep + add * gj * gj;
        m[j] = mj;
        v[j] = vj;
        w[j] -= step * mj / (std::sqrt(vj) / correction + tiny);
      }
    });
  });
}

// (K, B, T, F) feature vectors, (K,) int64 layer shifts -> (K, total * B, F): the vector each
// global step reads (zero while the candidate is idle); models/engine/drive.py's moved_inputs.
at::Tensor moved_inputs(const at::Tensor& inputs, const at::Tensor& shift, int64_t total) {
  auto in = inputs.contiguous();
  const int64_t k = in.size(0), batch = in.size(1), steps = in.size(2), width = in.size(3);
  auto out = at::zeros({k, total * batch, width}, in.options());
  const int64_t* sh = shift.contiguous().data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(in.scalar_type(), "moved_inputs", [&] {
    const scalar_t* x = in.data_ptr<scalar_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    for (int64_t c = 0; c < k; ++c)
      for (int64_t s = 0; s < total; ++s) {
        const int64_t local = s - sh[c];
        if (local < 0 || local >= steps) continue;
        for (int64_t b = 0; b < batch; ++b)
          std::memcpy(o + ((c * total + s) * batch + b) * width,
                      x + ((c * batch + b) * steps + local) * width, sizeof(scalar_t) * width);
      }
  });
  return out;
}

// What the recurrence reads for one batch of the stack (inputs (K, B, T) token ids or
// (K, B, T, F) feature vectors): the token ids and table (token mode), or the moved feature
// vectors and their projection plus bias, the drive (dense mode); the others empty.
struct BatchInputs {
  at::Tensor ids, table, moved, drive;
};

BatchInputs batch_inputs(const at::Tensor& inputs, const at::Tensor& shift, int64_t total,
                         const at::Tensor& embedding, const at::Tensor& w_in,
                         const at::Tensor& b_x, const at::Tensor& table = at::Tensor()) {
  const auto empty = at::empty({0}, w_in.options());
  BatchInputs in{at::empty({0}, inputs.options().dtype(at::kInt)), empty, empty, empty};
  if (inputs.scalar_type() == at::kLong) {  // ``table``: the token table, if made already
    in.ids = token_ids(inputs, shift, total, embedding.size(1));
    in.table = table.defined() ? table : token_table(embedding, w_in, b_x);
  } else {
    const int64_t k = w_in.size(0), batch = inputs.size(1), gn = w_in.size(1);
    in.moved = moved_inputs(inputs, shift, total);
    in.drive = at::baddbmm(b_x.unsqueeze(1), in.moved, w_in.transpose(1, 2))
                   .view({k, total, batch, gn})
                   .permute({1, 0, 3, 2})
                   .contiguous();
  }
  return in;
}

// Per row of (K, B, C) logits: its loss (log-sum-exp minus the label's logit) and whether its
// argmax (torch.argmax's: the first maximum, NaN counting as the largest) is the label; with
// ``grad``, the softmax of the row minus the label's one-hot, times ``scale(c, b)``.
template <typename T, typename Row, typename Scale>
void softmax_rows(const at::Tensor& logits, const at::Tensor& labels, const Row& row_done,
                  T* grad, const Scale& scale) {
  const int64_t k = logits.size(0), batch = logits.size(1), classes = logits.size(2);
  const T* all = logits.data_ptr<T>();
  const int64_t* label = labels.data_ptr<int64_t>();
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t b = 0; b < batch; ++b) {
      const T* row = all + (c * batch + b) * classes;
      const int64_t target = label[c * batch + b];
      int64_t best = 0;
      T top = row[0];
      for (int64_t j = 1; j < classes; ++j)
        if (row[j] > top || (std::isnan(row[j]) && !std::isnan(top))) top = row[j], best = j;
      T sum = 0;
      for (int64_t j = 0; j < classes; ++j) sum += std::exp(row[j] - top);
      row_done(c, b, std::log(sum) + top - row[target], best == target);
      if (grad == nullptr) continue;
      const T factor = scale(c, b);
      if (factor == T(0)) continue;  // a network that is not live: its gradient stays zero
      T* out = grad + (c * batch + b) * classes;
      for (int64_t j = 0; j < classes; ++j) out[j] = factor * std::exp(row[j] - top) / sum;
      out[target] -= factor;
    }
  }
}

// Each network's mean softmax cross-entropy over its rows, weighted (pad rows weigh zero), as
// models/engine/step.py's PyTorch step forms it; the logits' gradient of the live networks'
// summed losses into ``grad`` (zero elsewhere). A live network whose loss is not finite stops
// being live (it receives no update). The epoch's sums (loss times weight, weighted hits,
// weight) are added to for every network. Returns how many networks stopped being live.
template <typename T>
int64_t softmax_loss(const at::Tensor& logits, const at::Tensor& labels, const at::Tensor& weight,
                     at::Tensor& grad, bool* live, double* loss_sums, int64_t* correct,
                     int64_t* seen) {
  const int64_t k = logits.size(0), batch = logits.size(1);
  const T* wt = weight.data_ptr<T>();
  std::vector<T> weighted(k, T(0)), total(k, T(0)), hits(k, T(0));
  softmax_rows<T>(logits, labels, [&](int64_t c, int64_t b, T loss, bool hit) {
    const T w = wt[c * batch + b];
    weighted[c] += loss * w;
    total[c] += w;
    hits[c] += T(hit) * w;
  }, static_cast<T*>(nullptr), [](int64_t, int64_t) { return T(0); });
  int64_t stopped = 0;
  for (int64_t c = 0; c < k; ++c) {
    const T mean = weighted[c] / total[c];
    if (live[c] && !std::isfinite(mean)) live[c] = false, ++stopped;
    loss_sums[c] += double(mean * total[c]);
    correct[c] += int64_t(hits[c]);
    seen[c] += int64_t(total[c]);
  }
  softmax_rows<T>(logits, labels, [](int64_t, int64_t, T, bool) {}, grad.data_ptr<T>(),
                  [&](int64_t c, int64_t b) {
                    return live[c] ? wt[c * batch + b] / total[c] : T(0);
                  });
  return stopped;
}

// One training batch of every network in the stack, in one call: the token table or the
// input projection, the recurrence (forward, keeping what the backward reads), the read-out,
// each network's loss, the backward into ``grad`` (the flat leaf's layout, masked to its
// trainable entries), then the clipped Adam step of the live networks (their step counts in
// ``steps`` advanced), in place on ``flat``, ``exp_avg`` and ``exp_avg_sq``. ``params`` and
// ``grads`` are the per-parameter views of ``flat`` and ``grad`` (embedding, or an empty
// tensor for real inputs, weight_in, weight_x, weight_h, bias_x, bias_h, readout_w,
// readout_b). ``workspace``: three tensors of the stack's dtype, kept by the caller from batch
// to batch, that hold the recurrence's states and saved activations (resized in place, so
// their memory is reused). Returns how many networks stopped being live (a non-finite loss).
int64_t train_step(int64_t cell, int64_t lags, int64_t layers, at::Tensor inputs,
                   at::Tensor shift, at::Tensor lengths, at::Tensor labels, at::Tensor weight,
                   at::Tensor x_edges, at::Tensor x_count, at::Tensor h_edges,
                   at::Tensor h_count, at::Tensor layer, std::vector<at::Tensor> params,
                   std::vector<at::Tensor> grads, at::Tensor flat, at::Tensor grad,
                   at::Tensor mask, at::Tensor exp_avg, at::Tensor exp_avg_sq, at::Tensor steps,
                   at::Tensor live, at::Tensor loss_sums, at::Tensor correct, at::Tensor seen,
                   std::vector<at::Tensor> workspace, double lr, double clip_norm, double beta1,
                   double beta2, double eps) {
  at::NoGradGuard no_grad;
  TORCH_CHECK(params.size() == 8 && grads.size() == 8, "train_step: eight parameter views");
  TORCH_CHECK(workspace.size() == 3, "train_step: three workspace tensors");
  TORCH_CHECK(live.scalar_type() == at::kBool && steps.scalar_type() == at::kDouble &&
                  loss_sums.scalar_type() == at::kDouble && correct.scalar_type() == at::kLong &&
                  seen.scalar_type() == at::kLong && live.is_contiguous(),
              "train_step: live bool, steps and loss_sums float64, correct and seen int64");
  const auto& embedding = params[0];
  const auto &w_in = params[1], &b_x = params[4], &r_w = params[6], &r_b = params[7];
  const auto w_x = params[2].contiguous(), w_h = params[3].contiguous();
  const auto b_h = params[5].contiguous();
  const bool tokens = inputs.scalar_type() == at::kLong;
  const int64_t k = flat.size(0), batch = inputs.size(1), length = inputs.size(2);
  const int64_t total = length + layers - 1, gn = w_x.size(1);
  const auto last_time = (lengths - 1).contiguous();  // each row's last input position
  const auto in = batch_inputs(inputs, shift, total, embedding, w_in, b_x);
  const auto saved = forward_into(cell, lags, last_time, in.drive, in.ids, in.table, w_x,
                                  x_edges, x_count, w_h, h_edges, h_count, b_h, layer, length,
                                  true, &workspace);
  const auto& last = saved[3];
  const auto logits = readout(last, r_w, r_b);
  auto grad_logits = at::zeros_like(logits);
  const auto labels_c = labels.contiguous(), weight_c = weight.to(flat.scalar_type()).contiguous();
  int64_t stopped = 0;
  AT_DISPATCH_FLOATING_TYPES(flat.scalar_type(), "train_step_loss", [&] {
    stopped = softmax_loss<scalar_t>(logits, labels_c, weight_c, grad_logits,
                                     live.data_ptr<bool>(), loss_sums.data_ptr<double>(),
                                     correct.data_ptr<int64_t>(), seen.data_ptr<int64_t>());
  });
  const auto grad_last = readout_backward(grad_logits, r_w, last, grads[6], grads[7]);
  const auto back = backward(cell, lags, grad_last, last_time, saved[0], saved[1], saved[2],
                             in.drive, in.ids, in.table, w_x, x_edges, x_count, w_h, h_edges,
                             h_count, b_h, layer, length);
  grads[2].copy_(back[1]);
  grads[3].copy_(back[2]);
  grads[5].copy_(back[3]);
  if (tokens) {
    token_table_backward(back[0].transpose(1, 2).contiguous(), embedding, w_in, grads[4],
                         grads[1], grads[0]);
  } else {  // back[0]: the drive's gradient (total, K, G*N, B)
    const auto per_row = back[0].permute({1, 0, 3, 2}).reshape({k, total * batch, gn});
    grads[4].copy_(per_row.sum(1));
    grads[1].copy_(at::bmm(per_row.transpose(1, 2), in.moved));
  }
  grad.mul_(mask);
  // StackedAdam's bias corrections from the live networks' new step counts
  double* count = steps.data_ptr<double>();
  const bool* alive = live.data_ptr<bool>();
  auto step_size = at::empty({k}, steps.options()), correction2 = at::empty({k}, steps.options());
  for (int64_t c = 0; c < k; ++c) {
    count[c] += alive[c] ? 1.0 : 0.0;
    step_size.data_ptr<double>()[c] = lr / (1 - std::pow(beta1, count[c]));
    correction2.data_ptr<double>()[c] = std::sqrt(1 - std::pow(beta2, count[c]));
  }
  adam_step(flat, grad, exp_avg, exp_avg_sq, step_size, correction2, live, clip_norm, beta1,
            beta2, eps);
  return stopped;
}

// One evaluation batch of every network in the stack, in one call and without a backward:
// the recurrence keeps no activations, and each network's summed loss (in double) and correct
// rows are added to ``loss_sums`` and ``correct``, as models/engine/stream.py's PyTorch
// evaluation adds them. ``params`` as train_step's. The batch (1,024 rows in the engine) runs
// in slices of the rows one pass works on, each as long as its own longest row, through one
// state buffer: the states of the whole batch at once, (lags + S, K, N, B), were the engine's
// largest allocation (most of its peak memory at K = 32), and a slice's result is the same.
void evaluate_step(int64_t cell, int64_t lags, int64_t layers, at::Tensor inputs,
                   at::Tensor shift, at::Tensor lengths, at::Tensor labels, at::Tensor x_edges,
                   at::Tensor x_count, at::Tensor h_edges, at::Tensor h_count, at::Tensor layer,
                   std::vector<at::Tensor> params, at::Tensor loss_sums, at::Tensor correct) {
  at::NoGradGuard no_grad;
  TORCH_CHECK(params.size() == 8, "evaluate_step: eight parameter views");
  TORCH_CHECK(loss_sums.scalar_type() == at::kDouble && correct.scalar_type() == at::kLong,
              "evaluate_step: loss_sums float64, correct int64");
  const auto& embedding = params[0];
  const auto &w_in = params[1], &b_x = params[4], &r_w = params[6], &r_b = params[7];
  const auto w_x = params[2].contiguous(), w_h = params[3].contiguous();
  const auto b_h = params[5].contiguous();
  const int64_t k = w_x.size(0), batch = inputs.size(1);
  // a slice spans as many blocks as the forward would split it into chunks
  const int64_t rows = BLOCK * chunks_for(k, batch, at::get_num_threads());
  const auto table = inputs.scalar_type() == at::kLong ? token_table(embedding, w_in, b_x)
                                                       : at::Tensor();
  std::vector<at::Tensor> workspace;  // three tensors of their own (copies would share one)
  for (int i = 0; i < 3; ++i) workspace.push_back(at::empty({0}, w_x.options()));
  std::vector<double> summed(k, 0.0);  // each network's losses in double, row after row
  int64_t* hits = correct.data_ptr<int64_t>();
  for (int64_t b0 = 0; b0 < batch; b0 += rows) {
    const int64_t width = std::min(rows, batch - b0);
    const auto part_lengths = lengths.narrow(1, b0, width);
    const int64_t length = part_lengths.max().item<int64_t>(), total = length + layers - 1;
    const auto part = inputs.narrow(1, b0, width).narrow(2, 0, length);
    const auto last_time = (part_lengths - 1).contiguous();  // each row's last input position
    const auto in = batch_inputs(part, shift, total, embedding, w_in, b_x, table);
    const auto saved = forward_into(cell, lags, last_time, in.drive, in.ids, in.table, w_x,
                                    x_edges, x_count, w_h, h_edges, h_count, b_h, layer, length,
                                    false, &workspace);
    const auto logits = readout(saved[3], r_w, r_b);
    const auto labels_c = labels.narrow(1, b0, width).contiguous();
    AT_DISPATCH_FLOATING_TYPES(w_x.scalar_type(), "evaluate_step_loss", [&] {
      using T = scalar_t;
      softmax_rows<T>(logits, labels_c, [&](int64_t c, int64_t, T loss, bool hit) {
        summed[c] += double(loss);
        hits[c] += hit;
      }, static_cast<T*>(nullptr), [](int64_t, int64_t) { return T(0); });
    });
  }
  double* sums = loss_sums.data_ptr<double>();
  for (int64_t c = 0; c < k; ++c) sums[c] += summed[c];
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("instruction_set", &instruction_set,
        "the widest instruction set the build uses: avx512, avx2 or scalar");
  m.def("adam_step", &adam_step, "StackedAdam's per-row clipped Adam step, in place",
        py::call_guard<py::gil_scoped_release>());
  m.def("token_table", &token_table, "the transposed token table (K, G*N, V + 1)",
        py::call_guard<py::gil_scoped_release>());
  m.def("token_table_backward", &token_table_backward,
        "the token table's gradient into those of bias_x, weight_in and the embedding",
        py::call_guard<py::gil_scoped_release>());
  m.def("readout", &readout, "last states -> logits (K, B, C)",
        py::call_guard<py::gil_scoped_release>());
  m.def("readout_backward", &readout_backward,
        "the logits' gradient into the read-out's and the last states'",
        py::call_guard<py::gil_scoped_release>());
  m.def("token_ids", &token_ids, "each global step's token-table column, per candidate",
        py::call_guard<py::gil_scoped_release>());
  m.def("forward", &forward, "fused wavefront recurrence, forward",
        py::call_guard<py::gil_scoped_release>());
  m.def("backward", &backward, "fused wavefront recurrence, backward (BPTT)",
        py::call_guard<py::gil_scoped_release>());
  m.def("train_step", &train_step,
        "one training batch of the stack: forward, loss, backward and clipped Adam",
        py::call_guard<py::gil_scoped_release>());
  m.def("evaluate_step", &evaluate_step,
        "one evaluation batch of the stack: forward without activations, loss and hits",
        py::call_guard<py::gil_scoped_release>());
}
