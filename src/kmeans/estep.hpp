// The E-step (assign every row to its nearest centroid), plain or pruned, and
// exact either way: the pruned forms give the labels and distances of plain
// Lloyd bit for bit, at every iteration and for any split of the rows.
//
//   lloyd    every (row, centroid) value, k per row (uint8 rows with d >= 256: as
//            exact integer dot products where the CPU has AVX-512 VNNI, int_assign.hpp)
//   hamerly  one lower bound per row on the distance to the second-nearest
//            centroid (Hamerly 2010): a row whose bound clears its own
//            centroid's distance keeps its label with no value computed, else all k
//   elkan    one lower bound per (row, centroid) and the centroid-centroid
//            distances (Elkan 2003): only the centroids whose bound does not
//            clear the row's own distance are evaluated, or all k where that
//            is more than a few (all_values()); Hamerly's test first, on a bound
//            kept from the k (floor_), and the k bounds decayed lazily (drift_),
//            so that a row it settles touches none of them
//
// The solver may run a pruned algorithm's E-step as Lloyd's (Bounds::skip: while the
// centroids still move far, when most rows would fail their bounds); the next E-step to keep
// bounds then starts them afresh, as the first does.
//
// All k values of a row, for uint8 rows and k <= kLaneRowsMaxK (16; 64 with AVX-512), come from
// the row's nonzeros alone (lane_rows.hpp, the same bits) where that takes fewer multiply-adds
// (lanes_wanted()); and the integer E-step's sums from its nonzero pairs of values
// (pair_rows.hpp) where that does (pairs_wanted()). Hamerly's rows read whole, where the
// integer kernel is built but the rows have no lane form (more centroids), take integer
// estimates of all k distances from their int16 sums instead of the float values
// (int_assign.hpp, pair_estimates() from the pairs where the rows have them, else
// dense_estimates(): the label where the int16 margin settles it, the bounds widened by that
// margin; MNIST an iteration: AVX2 pairs at k = 64 0.34x the time, AVX-512 VNNI chunks at
// k = 100 and 256 0.74x and 0.65x).
//
// Why this is exact although the kernel rounds: the bounds are kept on the
// exact distances (triangle inequality in real arithmetic, every bound update
// rounded outwards), and a centroid is skipped only when its exact-distance
// lower bound, less the kernel's worst-case rounding error (value_error()),
// is strictly above the row's own value as the kernel computes it - so the
// skipped centroid's computed value could neither beat nor tie it. The own
// value itself is the kernel's (cached while the centroid does not move at
// all); a row whose centroid moved keeps only an upper bound on its exact
// distance (grown by the move, Elkan's u), and most rows cost a few bound
// comparisons. A row whose test fails is read from memory, and on MNIST that
// read, more than the values computed on it, is the cost (make bench:
// rows_read_fraction): so Hamerly then takes all k values at once, and Elkan
// does where a few of its centroids are flagged, which also gives every bound
// afresh. The labels are Lloyd's bits; the E-step reports no distances (the
// solver's inertia trace comes from the M-step's sums).
//
// Bounds are per row, so they partition with the rows: every worker keeps
// the bounds of its own rows, and no step depends on another worker's rows.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/names.hpp"
#include "kmeans/int_assign.hpp"
#include "kmeans/kmeans_core.hpp"
#include "kmeans/lane_rows.hpp"
#include "kmeans/pair_rows.hpp"
#include "kmeans/row_form.hpp"

namespace hpcb::kmeans {

enum class Algorithm { lloyd, hamerly, elkan };
inline constexpr Named<Algorithm> kAlgorithmNames[] = {
    {"lloyd", Algorithm::lloyd}, {"hamerly", Algorithm::hamerly}, {"elkan", Algorithm::elkan}};

template <class T>
class EStep {
 public:
  using D = dist_t<T>;

  // X: this worker's `rows` rows (d values each, used as X * scale), which
  // must outlive the EStep. What the E-steps keep per row (norms, chunk masks) comes from
  // one pass over the rows: in the constructor, or (RowPass::by_caller) by the caller's
  // prepare_rows() over every row before the first set_centroids(), in blocks of its
  // choice, so that it can do its own work on each block in the same pass.
  enum class RowPass { in_constructor, by_caller };
  EStep(Algorithm algorithm, const T* X, std::int64_t rows, std::int64_t d, D scale, int k,
        RowPass pass = RowPass::in_constructor);
  void prepare_rows(std::int64_t lo, std::int64_t hi);

  // The centroids of the next E-step (k x d, scaled units); call once per
  // E-step, before its blocks. Bounds::skip (pruned algorithms): this E-step is Lloyd's (every
  // value; on uint8 rows the integer kernel), keeping no bounds, and the next one that keeps
  // them starts them afresh, as the first E-step does: the cheaper course while most rows
  // would fail their bounds anyway (the solver decides: kSettledDrop).
  enum class Bounds { keep, skip };
  void set_centroids(const std::vector<double>& centroids, Bounds bounds = Bounds::keep);

  // What running a block writes besides its rows' own state (labels, bounds): buffers kept
  // between blocks, so that no block allocates, and the counts. Each thread that runs blocks
  // brings its own, so that two threads may run different blocks of one EStep at once (a
  // thread of the process helping another finish its blocks: the solver's SharedBlocks);
  // the EStep's own serves run_block(lo, hi, labels) and its counts evaluations() and
  // rows_read().
  struct Scratch {
    std::int64_t evaluations = 0, rows_read = 0;
    std::int64_t estimated = 0;  // rows read whose bounds came from integer estimates (hamerly_by_estimates())
    std::vector<std::int64_t> list, pair_rows, stale_rows, unsettled;
    std::vector<int> pair_cents, own_cents, offsets, fill;
    std::vector<std::size_t> order;
    std::vector<const T*> ptrs;
    std::vector<D> xxs, vals, pair_vals, own_vals, lloyd_dist;
    std::vector<double> seconds, row_eps;
    std::vector<float> taus, lows;
    std::vector<std::uint64_t> live_rows;  // chunk masks of listed rows (live_of())
    std::int64_t block_lo = 0;  // first row of the block being assigned
    std::vector<double> eps;    // per row of the block: the kernel's error bound (value_error())
    std::vector<float> tau;     // per row of the block: see threshold_of_value(), threshold_of_upper()
    std::vector<std::uint32_t> masks;  // Elkan: per 16 centroids, those flagged (elkan_flags())
    // Per row read whole, the own and second values (or estimates) its bounds come from
    // (set_bounds()); Hamerly's rows read from their int16 sums (hamerly_by_estimates()): the
    // integer estimates, the rows they settle and those left to the float values.
    std::vector<double> owns;
    RowEstimates estimates;
    std::vector<std::int64_t> by_estimates, float_rows;
  };

  // Rows [lo, hi) of this worker's rows: reads the labels of the previous
  // E-step (the bounds refer to them), writes the new labels (as assign()).
  // Rows of different blocks are independent: with a Scratch each, two threads may run two
  // blocks at once, between one set_centroids() and the next.
  void run_block(std::int64_t lo, std::int64_t hi, std::int32_t* labels) { run_block(lo, hi, labels, scratch_); }
  void run_block(std::int64_t lo, std::int64_t hi, std::int32_t* labels, Scratch& scratch);
  // This EStep's own Scratch (its counts), for a thread running another EStep's blocks.
  Scratch& scratch() { return scratch_; }

  // A self-check for tests: whether the bounds of rows [lo, hi) hold after this E-step,
  // against the exact distances (long double, from the rows and centroids as the kernel
  // holds them): every lower bound at most the distance it bounds, every upper bound at
  // least the distance to the row's own centroid. True for Lloyd's E-steps (no bounds).
  bool bounds_hold(std::int64_t lo, std::int64_t hi, const std::int32_t* labels) const;

  // (row, centroid) values computed so far; Lloyd computes k per row and E-step.
  std::int64_t evaluations() const { return scratch_.evaluations; }
  // Rows whose values an E-step read, summed over the E-steps so far (a row once per E-step):
  // for the pruned forms, the rows whose bounds did not settle them. On MNIST these, not the
  // values computed, set the time (make bench: BM_KMeansRun's rows_read_fraction, and
  // BM_OwnValues over every 3rd row against every row).
  std::int64_t rows_read() const { return scratch_.rows_read; }
  // This worker's rows by their nonzeros, where this E-step reads them in that form (for
  // relabel(): the form the E-step has just read); nullptr otherwise (a Lloyd E-step reads
  // the rows themselves).
  const LaneRows* lane_rows() const { return lloyd_step_ ? nullptr : lanes_.if_ready(); }
  // This worker's rows by their nonzero pairs, where the integer E-step takes its sums from
  // them (pair_rows.hpp); nullptr otherwise.
  const PairRows* pair_rows() const { return pairs_.if_ready(); }

 private:
  void full(const std::vector<std::int64_t>& rows, std::int32_t* labels, Scratch& s);
  void hamerly_by_estimates(const std::vector<std::int64_t>& rows, std::int32_t* labels, Scratch& s);
  void full_values(const std::vector<std::int64_t>& rows, std::int32_t* labels, Scratch& s);
  void bounds_from_values(const std::vector<std::int64_t>& rows, std::int32_t* labels, Scratch& s);
  enum class Own { value, estimate };  // the own value the bounds come from: the kernel's, or not
  void set_bounds(const std::vector<std::int64_t>& rows, Own own, Scratch& s);
  void set_own(std::size_t i, D v, double eps, Scratch& s);
  const std::uint64_t* live_of(const std::vector<std::int64_t>& rows, Scratch& s, const std::size_t* order = nullptr) const;
  void refresh_own(const std::vector<std::int64_t>& rows, const std::int32_t* labels, Scratch& s);
  void hamerly_block(std::int64_t lo, std::int64_t hi, std::int32_t* labels, Scratch& s);
  void unsettled_rows(std::int64_t lo, std::int64_t hi, const std::int32_t* labels, float* floor,
                      const std::vector<float>& row_tau, std::vector<std::int64_t>& out) const;
  float floor_of(const float* lb, std::int32_t a) const;
  void elkan_block(std::int64_t lo, std::int64_t hi, std::int32_t* labels, Scratch& s);
  std::size_t elkan_flags(std::int64_t i, float tau, const std::int32_t* labels, Scratch& s) const;
  void exact_half_distances();
  bool half_distances_from_moves();
  void set_drift();
  float with_drift(float v, std::size_t c) const;
  void elkan_candidates(std::int64_t i, std::size_t flagged, float tau, Scratch& s) const;
  bool all_values(std::size_t flagged) const;
  void values_by_centroid(const std::vector<std::int64_t>& rows, const std::vector<int>& centroid, D* out,
                          Scratch& s) const;
  void block_margins(std::int64_t lo, std::int64_t hi, Scratch& s) const;
  void block_thresholds(std::int64_t lo, std::int64_t hi, Scratch& s) const;
  std::int64_t live_chunks() const;
  bool lanes_wanted(const LaneRows& lanes) const;
  bool pairs_wanted(const PairRows& pairs) const;

  Algorithm algorithm_;
  const T* X_;
  std::int64_t rows_, d_;
  D scale_;
  int k_;
  ValueError error_;
  std::vector<D> xx_;  // |x|^2 of every row, as the kernel sums it
  std::vector<std::uint64_t> live_;  // uint8 rows: row_chunk_masks(), the chunks of zeros to skip
  // Pruned E-steps on uint8 rows, k <= 16: the rows by their nonzeros, for the values of all k
  // (lane_rows.hpp), where that form takes fewer multiply-adds (lanes_wanted()).
  RowForm<LaneRows> lanes_;
  // The integer E-step (uint8 rows, where its kernel is built): the rows by their nonzero pairs
  // (pair_rows.hpp), where that form takes fewer multiply-adds (pairs_wanted()).
  RowForm<PairRows> pairs_;

  bool lloyd_step_ = false;  // this E-step is Lloyd's (algorithm lloyd, or Bounds::skip)
  PackedCentroids<D> C_;
  // uint8 rows, when usable(): a Lloyd E-step's centroids for assign_uint8(), or a Hamerly
  // E-step's for its estimates (with the pair layout where the rows have it: hamerly_by_estimates())
  IntCentroids Q_;
  std::vector<std::uint32_t> sums_;  // and the rows' row_sums(), where that kernel is built (prepare_rows())
  std::vector<D> now_, before_;  // the centroids rounded to D (k x d): this E-step's and the last one's
  bool pruning_ = false;         // bounds hold for every row (from the second E-step on)
  // Per centroid, for this E-step; bounds are float, rounded outwards.
  std::vector<float> move_;          // |now - before|, rounded up; 0 where not moved (padded to kp_ with 0)
  float move_max_ = 0, move_second_ = 0;
  int move_argmax_ = -1;
  double norm_max_ = 0;              // max |c|, rounded up
  std::vector<double> norm_up_;      // per centroid: |c|, rounded up
  std::vector<double> norm_exact_;   // and as last computed exactly (set_centroids())
  std::vector<float> half_between_;  // k x kp_: half the centroid distances, rounded down (diagonal: inf)
  std::vector<float> half_gap_;      // half the distance to the nearest other centroid, rounded down
  // half_between_ as last computed exactly, per pair; the pairs to compute again this E-step
  // (a k + c, a < c: half_distances_from_moves()).
  std::vector<float> half_exact_;
  std::vector<std::uint64_t> stale_pairs_;

  std::vector<float> norm_;   // per row: |x|, rounded up
  std::vector<D> own_;        // per row: the value of its own centroid (as labelled), unless stale
  std::vector<char> stale_;   // per row: own_ is of an earlier position of the centroid
  std::vector<float> upper_;  // per row: upper bound on the exact distance to its own centroid
  std::vector<float> lower_;  // hamerly: per row; elkan: per row, kp_ centroids; lower bounds on exact distances
  // Elkan: per centroid (kp_), the sum of its moves since its bounds were last decayed, rounded
  // up. A stored bound B of row r and centroid c says |x_r - c| >= B - drift_[c] (the triangle
  // inequality, move by move), so a move costs an add to drift_, not a pass over the n x k
  // bounds; a fresh bound v is stored as v + drift_[c] (rounded down).
  std::vector<double> drift_;
  std::vector<float> drift_up_, drift_down_;  // drift_ as floats, rounded up and down
  // Elkan: per row, a lower bound on the exact distance to every centroid but its own (Hamerly's
  // bound, from the k bounds): tested first, so that a row it settles reads none of them.
  std::vector<float> floor_;
  std::size_t kp_ = 0;        // k rounded up to the SIMD width: move_'s length and (elkan) the bounds' row length

  Scratch scratch_;
};

namespace testing {
// The bound arithmetic as this build's vector forms do it (eight lanes with AVX-512, four with
// AVX2; the scalar functions where there are none, and for the last lanes) and as the scalar
// functions do, on the same inputs, for the tests to hold them to the same bits. Per i: the
// lower bound from the value v[i], the threshold from the own value v[i], and from the upper
// bound float(v[i]), each with eps[i].
struct BoundForms {
  std::vector<float> lower, from_value, from_upper;
};
BoundForms bound_forms(const std::vector<double>& v, const std::vector<double>& eps, bool vector);
// A row's label among its k float values and the least of the others, as the pruned E-steps
// take them (vector: this build's vector form where k fits one).
std::pair<std::int32_t, double> nearest_two_form(const float* v, int k, bool vector);
// Lower and upper bounds on |a - b| (the exact distance of two float vectors, a.size() ==
// b.size(); b empty: |a|), as the E-steps take their centroids' moves, norms and distances.
std::pair<double, double> centroid_distance_bounds(const std::vector<float>& a, const std::vector<float>& b);
}  // namespace testing

}  // namespace hpcb::kmeans
