// A second form of a worker's uint8 rows (LaneRows, PairRows), built block by block as the
// E-step prepares its rows (EStep::prepare_rows(), in the order the solver gives the blocks).
// An aid to a kernel, never a need: dropped where a block comes out of order, memory runs
// short, or the form grows past the rows' own bytes; once every row is in, kept only if
// wanted (where its kernel takes fewer multiply-adds than the plain one).
#pragma once

#include <cstdint>
#include <new>

namespace hpcb::kmeans {

template <class Form>
class RowForm {
 public:
  // Whether to build it, for `rows` rows of d values.
  void start(bool build, std::int64_t rows, std::int64_t d) {
    building_ = build;
    if (!building_) return;
    try {
      form_.reserve(rows, d);
    } catch (const std::bad_alloc&) {
      building_ = false;
    }
  }

  // Rows [lo, hi) of the `rows` rows at X. wanted(form): asked once every row is in.
  template <class Wanted>
  void add(const std::uint8_t* X, std::int64_t lo, std::int64_t hi, std::int64_t rows, std::int64_t d, Wanted wanted) {
    if (!building_) return;
    bool in_order = lo == form_.size();
    try {
      if (in_order) form_.append(X + lo * d, hi - lo, d);
    } catch (const std::bad_alloc&) {
      in_order = false;  // (dropped as below)
    }
    if (!in_order || form_.bytes() > hi * d) {
      building_ = false;
      form_.clear();
    } else if (hi == rows) {
      building_ = false;
      ready_ = wanted(form_);
      if (!ready_) form_.clear();
    }
  }

  bool ready() const { return ready_; }
  const Form& form() const { return form_; }
  const Form* if_ready() const { return ready_ ? &form_ : nullptr; }

 private:
  Form form_;
  bool building_ = false, ready_ = false;
};

}  // namespace hpcb::kmeans
