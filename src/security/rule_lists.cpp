// Address and port fields of a rule header: any, single values, CIDR prefixes, port
// ranges, $VARIABLES (resolved here, at compile time) and [lists] with '!' negation.
#include <algorithm>

#include <boost/asio/ip/address_v6.hpp>

#include "security/rule_internal.h"

namespace sipbox::security {
namespace detail {

NetAddr to_net(const boost::asio::ip::address& address) {
  NetAddr out;
  if (address.is_v4()) {
    const auto b = address.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.bytes.begin());
    return out;
  }
  const auto v6 = address.to_v6();
  const auto b = v6.to_bytes();
  if (v6.is_v4_mapped()) {
    std::copy(b.begin() + 12, b.end(), out.bytes.begin());
    return out;
  }
  std::copy(b.begin(), b.end(), out.bytes.begin());
  out.v6 = true;
  return out;
}

bool Cidr::contains(const NetAddr& a) const {
  if (a.v6 != v6) return false;
  const std::size_t full = prefix / 8;
  for (std::size_t i = 0; i < full; ++i)
    if (a.bytes[i] != bytes[i]) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a.bytes[full] & mask) == bytes[full];
}

namespace {

std::optional<std::array<std::uint8_t, 4>> parse_v4(std::string_view s) {
  std::array<std::uint8_t, 4> out{};
  for (std::size_t part = 0; part < 4; ++part) {
    const std::size_t dot = part < 3 ? s.find('.') : s.size();
    if (dot == std::string_view::npos || dot == 0 || dot > 3) return std::nullopt;
    const auto v = parse_uint(s.substr(0, dot), 255);
    if (!v) return std::nullopt;
    out[part] = static_cast<std::uint8_t>(*v);
    s.remove_prefix(part < 3 ? dot + 1 : dot);
  }
  if (!s.empty()) return std::nullopt;
  return out;
}

Result<Cidr, RuleError> parse_cidr(std::string_view item, const Locator& loc) {
  const std::size_t slash = item.find('/');
  const std::string_view host = item.substr(0, slash);
  Cidr out;
  if (host.find(':') != std::string_view::npos) {
    if (host.find('%') != std::string_view::npos || host.size() > 45)
      return refuse(loc.error(item, "bad address '" + std::string(item) + "'"));
    boost::system::error_code ec;
    const auto v6 = boost::asio::ip::make_address_v6(std::string(host), ec);
    if (ec) return refuse(loc.error(item, "bad address '" + std::string(item) + "'"));
    const auto b = v6.to_bytes();
    std::copy(b.begin(), b.end(), out.bytes.begin());
    out.v6 = true;
  } else {
    const auto v4 = parse_v4(host);
    if (!v4) return refuse(loc.error(item, "bad address '" + std::string(item) + "'"));
    std::copy(v4->begin(), v4->end(), out.bytes.begin());
  }
  const unsigned max_prefix = out.v6 ? 128 : 32;
  out.prefix = static_cast<std::uint8_t>(max_prefix);
  if (slash != std::string_view::npos) {
    const auto prefix = parse_uint(item.substr(slash + 1), max_prefix);
    if (!prefix)
      return refuse(loc.error(item, "bad CIDR '" + std::string(item) + "' (prefix length 0-" +
                                        std::to_string(max_prefix) + ")"));
    out.prefix = static_cast<std::uint8_t>(*prefix);
  }
  // Host bits below the prefix are ignored, as Snort does.
  for (std::size_t bit = out.prefix; bit < max_prefix; ++bit)
    out.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  return out;
}

Result<PortRange, RuleError> parse_port_range(std::string_view item, const Locator& loc) {
  const auto bad = [&] { return refuse(loc.error(item, "bad port '" + std::string(item) + "' (0-65535, N:M, :M or N:)")); };
  const std::size_t colon = item.find(':');
  PortRange out;
  if (colon == std::string_view::npos) {
    const auto p = parse_uint(item, 65535);
    if (!p) return bad();
    out.lo = out.hi = static_cast<std::uint16_t>(*p);
    return out;
  }
  const std::string_view lo = item.substr(0, colon);
  const std::string_view hi = item.substr(colon + 1);
  if (lo.empty() && hi.empty()) return bad();
  if (!lo.empty()) {
    const auto p = parse_uint(lo, 65535);
    if (!p) return bad();
    out.lo = static_cast<std::uint16_t>(*p);
  }
  if (!hi.empty()) {
    const auto p = parse_uint(hi, 65535);
    if (!p) return bad();
    out.hi = static_cast<std::uint16_t>(*p);
  }
  if (out.lo > out.hi)
    return refuse(loc.error(item, "bad port range '" + std::string(item) + "' (" + std::to_string(out.lo) + " > " +
                                      std::to_string(out.hi) + ")"));
  return out;
}

bool is_var_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// The position of the ']' that closes the '[' at s[0], or npos.
std::size_t closing_bracket(std::string_view s) {
  std::size_t depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '[') ++depth;
    if (s[i] == ']' && --depth == 0) return i;
  }
  return std::string_view::npos;
}

template <class Leaf, class Value>
class ListParser {
 public:
  using Set = ListSet<Leaf, Value>;
  using LeafParser = Result<Leaf, RuleError> (*)(std::string_view, const Locator&);

  ListParser(const RuleVariables& vars, LeafParser leaf, std::string_view what)
      : vars_(vars), leaf_(leaf), what_(what) {}

  Result<Set, RuleError> parse(std::string_view text, const Locator& loc, std::size_t depth) {
    text = trim(text);
    Set out;
    if (text.empty()) return refuse(loc.error(text, "empty " + std::string(what_)));
    // A whole list at the top is the set itself, not an item of it.
    if (text.front() == '[' && closing_bracket(text) == text.size() - 1) {
      if (auto r = add_list_items(out, text, loc, depth); !r) return refuse(r.error());
    } else if (auto r = add_item(out, text, loc, depth); !r) {
      return refuse(r.error());
    }
    simplify(out);
    return out;
  }

 private:
  Check add_list_items(Set& out, std::string_view list, const Locator& loc, std::size_t depth) {
    if (depth >= kMaxListDepth) return refuse(loc.error(list, "lists or variables nested too deeply"));
    const std::string_view inner = list.substr(1, list.size() - 2);
    if (trim(inner).empty()) return refuse(loc.error(list, "empty list"));
    for (std::string_view part : split_list(inner))
      if (auto r = add_item(out, part, loc, depth + 1); !r) return r;
    return {};
  }

  Check add_item(Set& out, std::string_view item, const Locator& loc, std::size_t depth) {
    const std::string_view whole = item;
    bool negated = false;
    if (!item.empty() && item.front() == '!') {
      negated = true;
      item = trim(item.substr(1));
      if (!item.empty() && item.front() == '!') return refuse(loc.error(whole, "double negation '!!'"));
    }
    if (item.empty()) return refuse(loc.error(whole, "empty " + std::string(what_) + " in a list"));
    if (item.front() == '[') {
      if (closing_bracket(item) != item.size() - 1)
        return refuse(loc.error(item, "unbalanced brackets in '" + std::string(item) + "'"));
      Set sub;
      if (auto r = add_list_items(sub, item, loc, depth); !r) return r;
      simplify(sub);
      attach(out, std::move(sub), negated);
      return {};
    }
    if (item.front() == '$') return add_variable(out, whole, item, negated, loc, depth);
    if (iequals(item, "any")) {
      if (negated) return refuse(loc.error(whole, "'!any' matches nothing"));
      out.include_all = true;
      return {};
    }
    if (item.find_first_of("[],") != std::string_view::npos)
      return refuse(loc.error(item, "unbalanced brackets in '" + std::string(item) + "'"));
    auto leaf = leaf_(item, loc);
    if (!leaf) return refuse(leaf.error());
    (negated ? out.exclude : out.include).push_back(*leaf);
    return {};
  }

  Check add_variable(Set& out, std::string_view whole, std::string_view item, bool negated, const Locator& loc,
                     std::size_t depth) {
    const std::string_view name = item.substr(1);
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_var_char))
      return refuse(loc.error(item, "bad variable name '" + std::string(item) + "'"));
    const auto found = vars_.find(name);
    if (found == vars_.end()) return refuse(loc.error(item, "undefined variable $" + std::string(name)));
    if (std::find(expanding_.begin(), expanding_.end(), name) != expanding_.end())
      return refuse(loc.error(item, "variable $" + std::string(name) + " refers to itself"));
    if (depth >= kMaxListDepth) return refuse(loc.error(item, "lists or variables nested too deeply"));
    const Locator inner = loc.inside_variable(item, name);
    expanding_.push_back(name);
    auto sub = parse(found->second, inner, depth + 1);
    expanding_.pop_back();
    if (!sub) return refuse(sub.error());
    if (negated && sub->is_any())
      return refuse(loc.error(whole, "'!$" + std::string(name) + "' matches nothing ($" + std::string(name) + " is any)"));
    attach(out, std::move(*sub), negated);
    return {};
  }

  static void attach(Set& out, Set sub, bool negated) {
    if (!negated && sub.is_any()) {
      out.include_all = true;
      return;
    }
    (negated ? out.exclude_sets : out.include_sets).push_back(std::move(sub));
  }

  // [x] is x: a set holding only one included set becomes that set.
  static void simplify(Set& s) {
    if (!s.include_all && s.include.empty() && s.exclude.empty() && s.exclude_sets.empty() &&
        s.include_sets.size() == 1) {
      Set only = std::move(s.include_sets.front());
      s = std::move(only);
    }
  }

  const RuleVariables& vars_;
  LeafParser leaf_;
  std::string_view what_;
  std::vector<std::string_view> expanding_;  // the variables being expanded, outermost first
};

}  // namespace

Result<AddrSet, RuleError> parse_addresses(std::string_view text, const RuleVariables& vars, const Locator& loc) {
  return ListParser<Cidr, NetAddr>(vars, &parse_cidr, "address").parse(text, loc, 0);
}

Result<PortSet, RuleError> parse_ports(std::string_view text, const RuleVariables& vars, const Locator& loc) {
  return ListParser<PortRange, std::uint16_t>(vars, &parse_port_range, "port").parse(text, loc, 0);
}

}  // namespace detail

Result<void, RuleError> check_variable(std::string_view value, const RuleVariables& variables) {
  const detail::Locator loc(value);
  const auto addresses = detail::parse_addresses(value, variables, loc);
  if (addresses) return {};
  const auto ports = detail::parse_ports(value, variables, loc);
  if (ports) return {};
  return detail::refuse(RuleError{addresses.error().column, "neither an address list (" + addresses.error().reason +
                                                                ") nor a port list (" + ports.error().reason + ")"});
}

}  // namespace sipbox::security
