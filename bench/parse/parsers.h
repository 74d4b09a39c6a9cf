// The two parsers under test, behind the same small interface so that one timing loop
// drives both. Each parse() parses one message and then reads what a SIP element reads
// from it (top Via, From/To tags, Call-ID, CSeq, Max-Forwards, every Contact, Route and
// Record-Route URI host, all Authorization parameters, Content-Type, body), folding the
// values into a digest. The digest keeps the reads from being optimized away, and since
// both sides read the same fields it must come out equal for a message: main.cpp checks
// that at start-up, so a parser that misreads a field is caught before anything is timed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sip/message.h"

namespace sipbox::bench {

struct Outcome {
  bool ok = false;
  std::uint64_t digest = 0;
};

// FNV-1a over the values read.
class Digest {
 public:
  void add(std::uint64_t value) { state_ = (state_ ^ value) * 0x100000001b3ULL; }
  std::uint64_t value() const { return state_; }

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

// sipbox: parse_message into one Message reused for every parse (no allocation).
class SipboxParser {
 public:
  Outcome parse(std::string_view bytes);
  // Why the last parse failed (set only on failure).
  const std::string& error() const { return error_; }
  const sip::Message& message() const { return message_; }

 private:
  sip::Message message_;
  std::string error_;
};

// libosip2: osip_message_init + osip_message_parse + osip_message_free per message, as
// its API requires.
class Osip2Parser {
 public:
  Osip2Parser();  // parser_init(), once per process
  Outcome parse(std::string_view bytes);
  // osip_message_parse's return code of the last parse.
  int error() const { return error_; }

  // Counts osip_malloc/osip_realloc(NULL, ...) calls while on (osip_set_allocators).
  static void count_mallocs(bool on);
  static std::uint64_t mallocs();

 private:
  int error_ = 0;
};

}  // namespace sipbox::bench
