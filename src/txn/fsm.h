// Internal to src/txn: the four state machines as data (one table per figure of
// RFC 3261 section 17, with RFC 6026's Accepted state), the event and action
// vocabulary, and the transaction record the engine in table.cpp runs them on.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "txn/txn.h"

namespace sipbox::txn::detail {

// Events, in the order of TimerId for the timer events (event_for(TimerId)).
enum class EventKind : std::uint8_t {
  TimerA,
  TimerB,
  TimerD,
  TimerE,
  TimerF,
  TimerG,
  TimerH,
  TimerI,
  TimerJ,
  TimerK,
  TimerL,
  TimerM,
  TimerTrying,
  Start,    // the transaction was created (request from TU / from the network)
  Recv1xx,  // client: a response arrived
  Recv2xx,
  RecvFinal,    // 300-699
  RecvRequest,  // server: a retransmission of the request
  RecvAck,      // INVITE server: an ACK matched
  Tu1xx,        // server: the TU responds
  Tu2xx,
  TuFinal,
  TransportError,
};
constexpr EventKind event_for(TimerId timer) { return static_cast<EventKind>(timer); }
EventKind response_event(int status, bool from_tu);

// Actions of a row, executed in this (bit) order after the state changes.
enum Action : std::uint16_t {
  kSendRequest = 1 << 0,     // first transmission of the request
  kResendRequest = 1 << 1,   // Timer A / E
  kSendResponse = 1 << 2,    // the TU's response: keep it as the last response, send it
  kResendResponse = 1 << 3,  // the last response again (Timer G, or a repeated request)
  kSend100 = 1 << 4,         // 17.2.1 100 Trying
  kSendAck = 1 << 5,         // 17.1.1.3 ACK for a non-2xx final response
  kResendAck = 1 << 6,       // the same ACK for a retransmitted final response
  kPassToTu = 1 << 7,
  kReportTimeout = 1 << 8,
  kReportTransportError = 1 << 9,
  kAbsorb = 1 << 10,  // counts a retransmission that the layer swallowed
};

constexpr std::uint16_t bit(TimerId t) { return static_cast<std::uint16_t>(1u << static_cast<unsigned>(t)); }

struct Row {
  State from;
  EventKind event;
  std::uint16_t actions;
  std::uint16_t stop;   // timers cancelled
  std::uint16_t start;  // timers (re)started, after the actions
  State to;
};

struct Figure {
  const char* name;  // "RFC 3261 Figure 5 + RFC 6026"
  State initial;
  std::span<const Row> rows;
};

const Figure& figure_for(Role role, Kind kind);
const Row* find_row(const Figure& figure, State state, EventKind event);

// How long a timer runs (RFC 3261 Table 4). nullopt: not started (retransmission
// timers on reliable transports); zero: fires at once (D/I/J/K on reliable ones).
// `previous` is the last interval of this retransmission timer when re-arming.
std::optional<Millis> timer_duration(const TimerSettings& s, TimerId timer, bool reliable, State state,
                                     std::optional<Millis> previous);

struct Event {
  EventKind kind;
  const sip::Message* message = nullptr;  // Recv*: valid while the event runs
  std::string bytes;                      // Tu*: the response on the wire
  std::string error;                      // TransportError
};

struct Transaction {
  std::uint64_t id = 0;
  Role role = Role::Client;
  Kind kind = Kind::NonInvite;
  const Figure* figure = nullptr;
  State state = State::Trying;
  std::string key;
  std::string request;        // own copy: retransmissions outlive the caller's bytes
  std::string last_response;  // server: what a repeated request gets
  std::string ack;            // INVITE client: the hop-by-hop ACK
  Destination peer;
  bool reliable = false;
  int last_status = 0;
  bool rfc2543 = false;         // matched by the 17.2.3 fallback, not the branch
  std::string request_to_tag;   // RFC 2543 matching: To tag of the request
  std::string response_to_tag;  // ... and of the response sent (ACK matching)
  std::array<TimerService::Handle, static_cast<std::size_t>(TimerId::Count)> timers{};
  std::uint16_t running = 0;  // bit(TimerId) of scheduled timers
  Millis retransmit_interval{0};
  std::vector<Event> pending;  // events raised while a row runs (re-entrant TU calls)
  bool busy = false;
};

}  // namespace sipbox::txn::detail
