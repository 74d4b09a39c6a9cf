// Internal to src/sip: the parser's access to Message internals.
#pragma once

#include "sip/message.h"

namespace sipbox::sip {

class MessageParser {
 public:
  static Status parse(std::string_view bytes, Framing framing, Message& out);
  // Validates one header field and adds its parsed values to the message's views
  // (vias(), contacts(), routes(), ...).
  static Status index_field(const HeaderField& field, Message& out);
  // After an edit: rebuilds the parsed views of every field with this id.
  static Status reindex(HeaderId id, Message& out);

 private:
  static Status parse_start_line(std::string_view line, Message& out);
  static Status validate(Framing framing, std::string_view after_headers, Message& out);
};

}  // namespace sipbox::sip
