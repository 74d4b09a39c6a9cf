// One rule against one packet: protocol, ports, addresses, sip_method/sip_stat_code, the
// fast pattern, then content and pcre in rule order with Snort's cursor (distance,
// within and pcre's R measure from the end of the previous match in the same buffer).
// Nothing here allocates: contents are searched in place (Horspool, folded on the fly
// for nocase), pcre uses one match block per thread.
#include <algorithm>
#include <cstring>

#include "security/rule_internal.h"

namespace sipbox::security::detail {
namespace {

struct MatchDataFree {
  void operator()(pcre2_match_data* d) const { pcre2_match_data_free(d); }
};
struct MatchContextFree {
  void operator()(pcre2_match_context* c) const { pcre2_match_context_free(c); }
};

pcre2_match_data* thread_match_data() {
  thread_local const std::unique_ptr<pcre2_match_data, MatchDataFree> data(pcre2_match_data_create(1, nullptr));
  return data.get();
}

// Limits that keep a hostile subject from making a pattern run away (PCRE2 counts
// backtracking steps; the JIT honours the match limit too).
pcre2_match_context* limits() {
  static const std::unique_ptr<pcre2_match_context, MatchContextFree> context = [] {
    pcre2_match_context* c = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(c, kPcreMatchLimit);
    pcre2_set_depth_limit(c, kPcreDepthLimit);
    return std::unique_ptr<pcre2_match_context, MatchContextFree>(c);
  }();
  return context.get();
}

// The header fields: after the start line, up to and including the line break of the
// last header (the empty line and the body excluded).
std::string_view header_fields(std::string_view b) {
  const std::size_t first = b.find('\n');
  if (first == std::string_view::npos) return b.substr(b.size());
  const std::size_t start = first + 1;
  const auto blank_at = [&](std::size_t i) {
    return i < b.size() && (b[i] == '\n' || (b[i] == '\r' && i + 1 < b.size() && b[i + 1] == '\n'));
  };
  if (blank_at(start)) return b.substr(start, 0);
  for (std::size_t i = b.find('\n', start); i != std::string_view::npos; i = b.find('\n', i + 1))
    if (blank_at(i + 1)) return b.substr(start, i + 1 - start);
  return b.substr(start);
}

struct Cursor {
  Section section = Section::Raw;
  std::size_t pos = 0;
  bool set = false;
};

class PatternMatcher {
 public:
  PatternMatcher(const CompiledRule& rule, const PacketView& packet) : rule_(rule), packet_(packet) {}

  bool match(std::size_t i, Cursor cursor) {
    if (i == rule_.patterns.size()) return true;
    const Pattern& p = rule_.patterns[i];
    const auto section = packet_.section(p.section);
    if (!section) return false;
    const std::string_view buf = *section;
    const auto size = static_cast<std::int64_t>(buf.size());
    const std::int64_t base = (p.relative && cursor.set && cursor.section == p.section) ? static_cast<std::int64_t>(cursor.pos) : 0;
    std::int64_t start = 0;
    std::int64_t end = size;
    if (p.kind == Pattern::Kind::Pcre) {
      start = p.relative ? base : 0;
    } else if (p.relative) {
      start = base + p.distance.value_or(0);
      if (p.within) end = start + *p.within;
    } else {
      start = p.offset.value_or(0);
      if (p.depth) end = start + *p.depth;
    }
    start = std::clamp<std::int64_t>(start, 0, size);
    end = std::clamp<std::int64_t>(end, start, size);
    const auto from = static_cast<std::size_t>(start);
    const auto to = static_cast<std::size_t>(end);
    return p.kind == Pattern::Kind::Content ? content(i, p, buf, from, to, cursor) : pcre(i, p, buf, from, cursor);
  }

 private:
  bool content(std::size_t i, const Pattern& p, std::string_view buf, std::size_t from, std::size_t to, Cursor cursor) {
    std::size_t at = find_content(p, buf, from, to);
    if (p.negated) return at == std::string_view::npos && match(i + 1, cursor);
    while (at != std::string_view::npos) {
      if (--budget_ < 0) return false;
      if (match(i + 1, Cursor{p.section, at + p.bytes.size(), true})) return true;
      if (!p.retry) return false;
      at = find_content(p, buf, at + 1, to);
    }
    return false;
  }

  bool pcre(std::size_t i, const Pattern& p, std::string_view buf, std::size_t from, Cursor cursor) {
    // Relative (R): the subject starts at the cursor, so '^' anchors there.
    const std::string_view subject = buf.substr(from);
    pcre2_match_data* data = thread_match_data();
    PCRE2_SIZE offset = 0;
    while (true) {
      if (--budget_ < 0) return false;
      const int rc = pcre2_match(p.code.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), offset, 0,
                                 data, limits());
      if (rc == PCRE2_ERROR_NOMATCH) return p.negated && match(i + 1, cursor);
      if (rc < 0) return false;  // a limit was hit: never fire on an undecided pattern
      if (p.negated) return false;
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data);
      const std::size_t end = from + std::max(ov[0], ov[1]);
      if (match(i + 1, Cursor{p.section, end, true})) return true;
      if (!p.retry || ov[0] + 1 > subject.size()) return false;
      offset = ov[0] + 1;
    }
  }

  const CompiledRule& rule_;
  const PacketView& packet_;
  int budget_ = kMatchBudget;
};

bool endpoint(const AddrSet& addrs, const PortSet& ports, const NetAddr& a, std::uint16_t port) {
  return ports.matches(port) && addrs.matches(a);
}

}  // namespace

PacketView::PacketView(const Packet& packet) : packet_(packet), src_(to_net(packet.src)), dst_(to_net(packet.dst)) {}

std::optional<std::string_view> PacketView::section(Section s) const {
  if (s == Section::Raw) return packet_.bytes;
  if (!packet_.message) return std::nullopt;
  if (s == Section::Body) return packet_.message->body();
  if (!header_) header_ = header_fields(packet_.message->bytes());
  return header_;
}

void prepare_search(Pattern& p) {
  if (p.nocase)
    for (char& c : p.bytes) c = static_cast<char>(fold(static_cast<unsigned char>(c)));
  const std::size_t m = p.bytes.size();
  p.shift.fill(static_cast<std::uint16_t>(std::min<std::size_t>(m, 65535)));
  for (std::size_t k = 0; k + 1 < m; ++k)
    p.shift[static_cast<unsigned char>(p.bytes[k])] = static_cast<std::uint16_t>(std::min<std::size_t>(m - 1 - k, 65535));
}

std::size_t find_content(const Pattern& p, std::string_view hay, std::size_t from, std::size_t end) {
  const std::size_t m = p.bytes.size();
  end = std::min(end, hay.size());
  if (m == 0 || from > end || end - from < m) return std::string_view::npos;
  if (!p.nocase) {
    // libstdc++ finds the first byte with memchr (vectorized), then compares.
    const std::size_t at = hay.substr(from, end - from).find(p.bytes);
    return at == std::string_view::npos ? at : from + at;
  }
  const auto* h = reinterpret_cast<const unsigned char*>(hay.data());
  const auto* pat = reinterpret_cast<const unsigned char*>(p.bytes.data());
  const unsigned char last = pat[m - 1];
  for (std::size_t i = from; i + m <= end;) {
    const unsigned char c = p.nocase ? fold(h[i + m - 1]) : h[i + m - 1];
    if (c == last) {
      std::size_t j = 0;
      if (p.nocase) {
        while (j + 1 < m && fold(h[i + j]) == pat[j]) ++j;
      } else {
        while (j + 1 < m && h[i + j] == pat[j]) ++j;
      }
      if (j + 1 == m) return i;
    }
    i += p.shift[c];
  }
  return std::string_view::npos;
}

bool rule_matches(const CompiledRule& rule, const PacketView& view) {
  const Packet& packet = view.packet();
  if ((rule.proto == Proto::Udp && !packet.udp) || (rule.proto == Proto::Tcp && packet.udp)) return false;
  if (!(endpoint(rule.src, rule.src_ports, view.src(), packet.src_port) &&
        endpoint(rule.dst, rule.dst_ports, view.dst(), packet.dst_port))) {
    if (!rule.bidirectional) return false;
    if (!(endpoint(rule.src, rule.src_ports, view.dst(), packet.dst_port) &&
          endpoint(rule.dst, rule.dst_ports, view.src(), packet.src_port)))
      return false;
  }
  const sip::Message* message = packet.message;
  if (rule.has_methods) {
    if (!message || !message->is_request()) return false;
    const std::string_view method = message->method();
    const bool listed = std::any_of(rule.methods.begin(), rule.methods.end(),
                                    [&](const std::string& m) { return iequals(m, method); });
    if (listed == rule.methods_negated) return false;
  }
  if (!rule.status_codes.empty()) {
    if (!message || !message->is_response()) return false;
    const int code = message->status_code();
    const bool listed = std::any_of(rule.status_codes.begin(), rule.status_codes.end(),
                                    [&](std::uint16_t c) { return c == code || (c < 10 && code / 100 == c); });
    if (!listed) return false;
  }
  if (rule.patterns.empty()) return true;
  if (rule.fast_pattern >= 0 && rule.patterns.size() > 1) {
    const Pattern& fast = rule.patterns[static_cast<std::size_t>(rule.fast_pattern)];
    const auto section = view.section(fast.section);
    if (!section || find_content(fast, *section, 0, section->size()) == std::string_view::npos) return false;
  }
  return PatternMatcher(rule, view).match(0, Cursor{});
}

}  // namespace sipbox::security::detail
