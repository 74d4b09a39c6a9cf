// A SIP message (RFC 3261 section 7) as views into the bytes it was parsed from.
//
// The parser validates the start line, frames the body, and checks the headers every
// element relies on (Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length, Contact,
// Route, Record-Route, Date, ...), so a Message that exists is well-formed. It stores no
// copies: header names and values are string_views, and up to kInlineHeaders headers
// live inside the object (no heap allocation for ordinary messages).
//
// Edits (a proxy adding a Via, a B2BUA replacing a body) are kept beside the views; an
// unedited message serializes to exactly the bytes it came from, an edited one is
// rebuilt once in canonical form.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <forward_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sip/header_names.h"
#include "sip/inline_vector.h"
#include "sip/headers.h"
#include "sip/uri.h"

namespace sipbox::sip {

// Datagrams (UDP) may omit Content-Length; streams (TCP, TLS) must carry it (RFC 3261 18.3).
enum class Framing : std::uint8_t { Datagram, Stream };

enum class Method : std::uint8_t {
  Other, Invite, Ack, Bye, Cancel, Register, Options, Info, Prack, Update, Subscribe, Notify, Publish, Message, Refer
};
Method method_from_name(std::string_view name) noexcept;

struct HeaderField {
  std::string_view name;   // as received: "v", "VIA", "Call-ID", "X-Custom"
  std::string_view value;  // trimmed; may contain folded line breaks
  HeaderId id = HeaderId::Other;
};

// Iterates the comma-separated values of every field with one id (RFC 3261 7.3.1),
// splitting only at commas outside quoted strings and <...>.
class HeaderValues {
 public:
  class Iterator {
   public:
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    Iterator(std::span<const HeaderField> fields, HeaderId id, std::string_view name);
    std::string_view operator*() const { return current_; }
    Iterator& operator++();
    bool operator==(const Iterator& other) const {
      return done_ == other.done_ &&
             (done_ || (field_ == other.field_ && pending_ == other.pending_ && rest_.data() == other.rest_.data()));
    }

   private:
    bool matches(const HeaderField& field) const;
    void load(std::size_t index);
    void take();
    std::span<const HeaderField> fields_;
    std::size_t field_ = 0;
    std::string_view rest_;
    std::string_view current_;
    std::string_view name_;
    HeaderId id_ = HeaderId::Other;
    bool list_ = false;
    bool pending_ = false;  // rest_ holds another element
    bool done_ = true;
  };
  HeaderValues(std::span<const HeaderField> fields, HeaderId id, std::string_view name = {})
      : fields_(fields), id_(id), name_(name) {}
  Iterator begin() const { return Iterator(fields_, id_, name_); }
  Iterator end() const { return Iterator(); }

 private:
  std::span<const HeaderField> fields_;
  HeaderId id_;
  std::string_view name_;
};

// An Authorization, Proxy-Authorization, WWW-Authenticate or Proxy-Authenticate value.
struct AuthEntry {
  HeaderId header = HeaderId::Other;
  AuthHeader value;
};

class Message {
 public:
  static constexpr std::size_t kInlineHeaders = 48;

  Message() = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  Message(Message&&) = default;
  Message& operator=(Message&&) = default;
  ~Message() = default;

  bool is_request() const { return request_; }
  bool is_response() const { return !request_; }
  // Request: from the request line. Response: from CSeq.
  std::string_view method() const { return method_; }
  Method method_id() const { return method_id_; }
  std::string_view request_uri_text() const { return request_uri_text_; }
  const Uri& request_uri() const { return request_uri_; }
  int status_code() const { return status_; }
  std::string_view reason_phrase() const { return reason_; }

  std::span<const HeaderField> headers() const { return headers_.view(); }
  std::size_t header_count() const { return headers_.size(); }
  // The first field with this id / name (compact and full names are the same header).
  const HeaderField* header(HeaderId id) const;
  const HeaderField* header(std::string_view name) const;
  std::size_t count(HeaderId id) const;
  HeaderValues values(HeaderId id) const { return HeaderValues(headers(), id); }
  HeaderValues values(std::string_view name) const;

  // Validated while parsing.
  std::string_view call_id() const { return call_id_; }
  const CSeq& cseq() const { return cseq_; }
  const NameAddr& from() const { return from_; }
  const NameAddr& to() const { return to_; }
  const Via& top_via() const;
  // Parsed while validating, in message order: every Via value, every Contact (empty
  // for "Contact: *", see contact_star()), Route, Record-Route and Path value, and
  // the authorization headers.
  std::span<const Via> vias() const { return vias_.view(); }
  std::span<const NameAddr> contacts() const { return contacts_.view(); }
  bool contact_star() const { return contact_star_; }
  std::span<const NameAddr> routes() const { return routes_.view(); }
  std::span<const NameAddr> record_routes() const { return record_routes_.view(); }
  std::span<const NameAddr> paths() const { return paths_.view(); }
  std::span<const AuthEntry> auth() const { return auth_.view(); }
  // The first AuthEntry of this header whose realm is `realm` (any realm when empty).
  const AuthHeader* find_auth(HeaderId header, std::string_view realm = {}) const;
  // -1 when the header is absent.
  int max_forwards() const { return max_forwards_; }
  std::string_view body() const { return body_; }
  // The bytes of this message (start line to end of body), without trailing octets.
  std::string_view bytes() const { return bytes_; }

  // Edits. Indexes are positions in headers().
  void set_request_uri(std::string uri);
  void set_status(int code, std::string reason);
  void set_header_value(std::size_t index, std::string value);
  void remove_header(std::size_t index);
  void insert_header(std::size_t index, HeaderId id, std::string value);
  void insert_header(std::size_t index, std::string name, std::string value);
  void append_header(HeaderId id, std::string value) { insert_header(headers_.size(), id, std::move(value)); }
  void set_body(std::string body);
  bool modified() const { return modified_; }

  // Unmodified: bytes(). Modified: start line, one "Name: value" per field with
  // canonical names and unfolded values, a correct Content-Length, then the body.
  std::string serialize() const;

 private:
  friend class MessageParser;
  void clear();
  std::string_view keep(std::string text);
  void refresh(HeaderId changed);

  InlineVector<HeaderField, kInlineHeaders> headers_;
  InlineVector<Via, 4> vias_;
  InlineVector<NameAddr, 2> contacts_;
  InlineVector<NameAddr, 4> routes_;
  InlineVector<NameAddr, 4> record_routes_;
  InlineVector<NameAddr, 2> paths_;
  InlineVector<AuthEntry, 2> auth_;
  bool contact_star_ = false;

  std::string_view bytes_;
  std::string_view body_;
  std::string_view method_;
  std::string_view request_uri_text_;
  std::string_view reason_;
  std::string_view call_id_;
  Uri request_uri_;
  CSeq cseq_;
  NameAddr from_;
  NameAddr to_;
  int status_ = 0;
  int max_forwards_ = -1;
  Method method_id_ = Method::Other;
  bool request_ = true;
  bool modified_ = false;
  std::forward_list<std::string> owned_;  // text of edits; nodes keep their addresses when moved
};

// Parses one message from `bytes` into `out`. On success out.bytes() tells how much of
// the input the message used (a datagram may carry trailing octets; a stream buffer the
// next message). `bytes` must outlive `out`.
Status parse_message(std::string_view bytes, Framing framing, Message& out);

// Stream framing (RFC 3261 18.3): the size of the first complete message in `buffer`,
// including any CRLFs before it; 0 while more bytes are needed; an error when the
// header cannot frame a message (no or bad Content-Length, a header section over
// `max_header_bytes`). A message whose header section and Content-Length add up to more
// than `max_header_bytes` gets its size returned as soon as its header is complete, so
// the caller can refuse it at once.
Result<std::size_t> stream_message_size(std::string_view buffer, std::size_t max_header_bytes = 65536);

}  // namespace sipbox::sip
