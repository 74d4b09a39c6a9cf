#include "web/subtree.h"

#include <nlohmann/json.hpp>

namespace sipbox::web {
namespace {

using Json = nlohmann::ordered_json;

std::pair<std::string_view, std::string_view> split_qualified(std::string_view key) {
  const std::size_t colon = key.find(':');
  if (colon == std::string_view::npos) return {{}, key};
  return {key.substr(0, colon), key.substr(colon + 1)};
}

// One element of an XML document: [begin, end) is the whole element, [content_begin,
// content_end) what lies between its tags.
struct Element {
  std::size_t begin = 0, end = 0, content_begin = 0, content_end = 0;
  std::size_t name_end = 0;  // where the start tag's name ends
  std::string_view name;     // local name
  std::string_view xmlns;    // its default-namespace declaration, if any
};

class XmlScanner {
 public:
  explicit XmlScanner(std::string_view text) : text_(text) {}

  // The child elements of [from, to).
  std::optional<std::vector<Element>> children(std::size_t from, std::size_t to) const {
    std::vector<Element> out;
    std::size_t pos = from;
    while (true) {
      pos = text_.find('<', pos);
      if (pos == std::string_view::npos || pos >= to) return out;
      if (skip_markup(pos)) continue;
      auto element = parse(pos);
      if (!element || element->end > to) return std::nullopt;
      out.push_back(*element);
      pos = element->end;
    }
  }

 private:
  // Comments, processing instructions and declarations: skipped; returns true if one was.
  bool skip_markup(std::size_t& pos) const {
    if (text_.compare(pos, 4, "<!--") == 0) {
      const std::size_t end = text_.find("-->", pos);
      pos = end == std::string_view::npos ? text_.size() : end + 3;
      return true;
    }
    if (text_.compare(pos, 2, "<?") == 0 || text_.compare(pos, 2, "<!") == 0) {
      const std::size_t end = text_.find('>', pos);
      pos = end == std::string_view::npos ? text_.size() : end + 1;
      return true;
    }
    return false;
  }

  // The end of the tag starting at `pos` (after '>'), and whether it is self-closing.
  std::optional<std::pair<std::size_t, bool>> tag_end(std::size_t pos) const {
    char quote = 0;
    for (std::size_t i = pos + 1; i < text_.size(); ++i) {
      const char c = text_[i];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        return std::pair{i + 1, text_[i - 1] == '/'};
      }
    }
    return std::nullopt;
  }

  std::optional<Element> parse(std::size_t pos) const {
    Element e;
    e.begin = pos;
    const auto start = tag_end(pos);
    if (!start) return std::nullopt;
    std::size_t name_end = pos + 1;
    while (name_end < text_.size() && text_[name_end] != ' ' && text_[name_end] != '>' && text_[name_end] != '/' &&
           text_[name_end] != '\n' && text_[name_end] != '\t')
      ++name_end;
    e.name_end = name_end;
    e.name = split_qualified(text_.substr(pos + 1, name_end - pos - 1)).second;
    const std::string_view tag = text_.substr(pos, start->first - pos);
    if (const std::size_t at = tag.find(" xmlns=\""); at != std::string_view::npos) {
      const std::size_t value = at + 8;
      e.xmlns = tag.substr(value, tag.find('"', value) - value);
    }
    if (start->second) {
      e.content_begin = e.content_end = e.end = start->first;
      return e;
    }
    e.content_begin = start->first;
    // Find the matching end tag by depth.
    int depth = 1;
    std::size_t i = start->first;
    while (depth > 0) {
      i = text_.find('<', i);
      if (i == std::string_view::npos) return std::nullopt;
      if (skip_markup(i)) continue;
      const auto end = tag_end(i);
      if (!end) return std::nullopt;
      if (text_[i + 1] == '/') {
        if (--depth == 0) {
          e.content_end = i;
          e.end = end->first;
          return e;
        }
      } else if (!end->second) {
        ++depth;
      }
      i = end->first;
    }
    return std::nullopt;
  }

  std::string_view text_;
};

}  // namespace

std::optional<std::string> extract_json(std::string_view printed, const std::vector<PathStep>& steps) {
  const Json doc = Json::parse(printed, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || steps.empty()) return std::nullopt;
  const Json* current = &doc;
  std::string module;  // the module of the current node (RFC 7951 4: inherited when unqualified)
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::string want_module = steps[i].module.empty() ? module : steps[i].module;
    const Json* found = nullptr;
    for (auto it = current->begin(); it != current->end(); ++it) {
      const auto [key_module, key_name] = split_qualified(it.key());
      const std::string_view effective = key_module.empty() ? std::string_view(module) : key_module;
      if (key_name == steps[i].name && effective == want_module) {
        found = &it.value();
        break;
      }
    }
    if (found == nullptr) return std::nullopt;
    module = want_module;
    if (i + 1 == steps.size()) {
      Json out = Json::object();
      out[module + ":" + steps[i].name] = *found;
      return out.dump(2) + "\n";
    }
    // The selection holds one entry of each list on the way (its keys were given).
    if (found->is_array()) {
      if (found->size() != 1 || !found->front().is_object()) return std::nullopt;
      found = &found->front();
    }
    if (!found->is_object()) return std::nullopt;
    current = found;
  }
  return std::nullopt;
}

std::optional<std::string> extract_xml(std::string_view printed, const std::vector<PathStep>& steps) {
  const XmlScanner scanner(printed);
  std::size_t from = 0;
  std::size_t to = printed.size();
  std::string_view ns;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto elements = scanner.children(from, to);
    if (!elements) return std::nullopt;
    std::string out;
    for (const Element& e : *elements) {
      if (e.name != steps[i].name) continue;
      const std::string_view element_ns = e.xmlns.empty() ? ns : e.xmlns;
      if (i + 1 < steps.size()) {
        ns = element_ns;
        from = e.content_begin;
        to = e.content_end;
        out = "descend";
        break;
      }
      // The target: give it its namespace when it inherited it from a parent.
      out += printed.substr(e.begin, e.name_end - e.begin);
      if (e.xmlns.empty()) out += " xmlns=\"" + std::string(element_ns) + "\"";
      out += printed.substr(e.name_end, e.end - e.name_end);
      out += '\n';
    }
    if (out.empty()) return std::nullopt;
    if (i + 1 == steps.size()) return out;
  }
  return std::nullopt;
}

}  // namespace sipbox::web
