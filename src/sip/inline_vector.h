// A vector whose first N elements live inside the object, so that a message with an
// ordinary number of headers (or Vias, Contacts, ...) is parsed without touching the
// heap; more elements spill into a std::vector. Internal to src/sip.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <vector>

namespace sipbox::sip {

template <class T, std::size_t N>
class InlineVector {
 public:
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return spill_.empty() ? items_.data() : spill_.data(); }
  const T* data() const { return spill_.empty() ? items_.data() : spill_.data(); }
  T& operator[](std::size_t i) { return data()[i]; }
  const T& operator[](std::size_t i) const { return data()[i]; }
  std::span<const T> view() const { return {data(), size_}; }

  void clear() {
    size_ = 0;
    spill_.clear();
  }

  void push_back(const T& value) {
    if (spill_.empty() && size_ < N) {
      items_[size_++] = value;
      return;
    }
    if (spill_.empty()) spill_.assign(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(size_));
    spill_.push_back(value);
    ++size_;
  }

  void insert(std::size_t index, const T& value) {
    push_back(value);
    T* d = data();
    for (std::size_t i = size_ - 1; i > index; --i) d[i] = d[i - 1];
    d[index] = value;
  }

  void erase(std::size_t index) {
    T* d = data();
    for (std::size_t i = index + 1; i < size_; ++i) d[i - 1] = d[i];
    --size_;
    if (!spill_.empty()) spill_.pop_back();
  }

 private:
  std::array<T, N> items_{};
  std::vector<T> spill_;
  std::size_t size_ = 0;
};

}  // namespace sipbox::sip
