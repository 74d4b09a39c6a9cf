// Building responses and owning parsed messages: what every element that answers or
// forwards SIP (registrar, proxy, core) needs beyond the parser.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "sip/message.h"

namespace sipbox::sip {

// Folded header values (obsolete line folding, RFC 3261 7.3.1) become one line.
std::string unfold(std::string_view value);
std::string ascii_lower(std::string_view text);

// RFC 3261 8.2.6.2: status line, every Via, From, To (with a To tag derived from the
// request when it has none, so a retransmission gets the same tag), Call-ID and CSeq.
// The caller appends headers, then finish_response().
std::string response_head(const Message& request, int status, std::string_view reason);
// Appends "Content-Length: 0" and the empty line.
void finish_response(std::string& response);
// response_head + `extra_headers` (complete "Name: value\r\n" lines) + finish_response.
std::string simple_response(const Message& request, int status, std::string_view reason,
                            std::string_view extra_headers = {});

// Edits of the first value of a header that may hold a comma-separated list
// ("Via: a, b" or "Route: <x>, <y>"): the value is replaced or removed, the rest of the
// field stays. False when the message has no such header.
bool replace_first_value(Message& message, HeaderId id, std::string_view replacement);
bool remove_first_value(Message& message, HeaderId id);
// The status code of bytes that start with a status line ("SIP/2.0 NNN "), 100-699;
// 0 for anything else. For a response held as text, without parsing it.
int response_status(std::string_view bytes);
// The bytes of an unedited message without its first Via value, when another Via
// follows (a proxy passing a response upstream, RFC 3261 16.7 step 9): a field holding
// one value loses its line, a list "Via: a, b" its first value. No parse, no rebuild.
// Empty otherwise; the caller then edits a parsed copy.
std::string without_first_via(const Message& message);
// The last value of the last field of `id` (a strict router's Route, RFC 3261 16.4).
bool remove_last_value(Message& message, HeaderId id);

// A Message together with the bytes it views: for messages built or copied by an element
// that outlive the buffer they arrived in. Movable: the bytes live on the heap.
class OwnedMessage {
 public:
  static Result<OwnedMessage> parse(std::string bytes, Framing framing = Framing::Datagram);
  const Message& get() const { return message_; }
  Message& get() { return message_; }
  const Message* operator->() const { return &message_; }
  Message* operator->() { return &message_; }

 private:
  std::unique_ptr<std::string> bytes_;
  Message message_;
};

}  // namespace sipbox::sip
