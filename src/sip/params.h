// Parameter lists: `;name=value;flag` after URIs and header values, and the
// comma-separated `name=value, name="quoted"` lists of digest credentials and challenges.
// A Params is a view over text that the parser has already validated; lookups scan it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sipbox::sip {

struct Param {
  std::string_view name;
  std::string_view value;  // as written: a quoted value keeps its quotes
  bool has_value = false;
};

class Params {
 public:
  Params() = default;
  // `text` starts at the first separator (";lr;transport=tcp") or is empty.
  explicit Params(std::string_view text, char separator = ';') : text_(text), sep_(separator) {}

  class Iterator {
   public:
    using value_type = Param;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    Iterator(std::string_view text, char sep);
    const Param& operator*() const { return current_; }
    const Param* operator->() const { return &current_; }
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator copy = *this;
      ++*this;
      return copy;
    }
    bool operator==(const Iterator& other) const { return at_end_ == other.at_end_ && (at_end_ || rest_.data() == other.rest_.data()); }

   private:
    void advance();
    std::string_view rest_;
    Param current_;
    char sep_ = ';';
    bool at_end_ = true;
  };

  Iterator begin() const { return Iterator(text_, sep_); }
  Iterator end() const { return Iterator(); }

  // The parameter named `name` (case-insensitive); nullopt when absent.
  std::optional<Param> find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name).has_value(); }
  // Its value with quotes removed (escapes kept), or empty when absent or valueless.
  std::string_view get(std::string_view name) const;

  std::string_view text() const { return text_; }
  bool empty() const { return text_.empty(); }

 private:
  std::string_view text_;
  char sep_ = ';';
};

// `"abc"` -> `abc` (quoted-pair escapes stay); anything else is returned unchanged.
std::string_view unquote(std::string_view value);
// `"a\"b"` -> `a"b`: removes the quotes and resolves quoted-pairs.
std::string unquote_unescape(std::string_view value);

}  // namespace sipbox::sip
