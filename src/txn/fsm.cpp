// The four transaction state machines of RFC 3261 section 17 as tables.
// Each row reads: in state `from`, on `event`, do `actions`, cancel `stop`, start
// `start`, go to `to`. An event with no row is ignored (counted), which is what the
// figures mean by leaving an arrow out. Retransmission timers (A, E, G) are listed
// unconditionally; timer_duration() drops them on reliable transports.
#include "txn/fsm.h"

#include <algorithm>

namespace sipbox::txn::detail {
namespace {

using enum State;
using enum EventKind;
constexpr std::uint16_t A = bit(TimerId::A), B = bit(TimerId::B), D = bit(TimerId::D), E = bit(TimerId::E),
                        F = bit(TimerId::F), G = bit(TimerId::G), H = bit(TimerId::H), I = bit(TimerId::I),
                        J = bit(TimerId::J), K = bit(TimerId::K), L = bit(TimerId::L), M = bit(TimerId::M),
                        TRY = bit(TimerId::Trying);
constexpr std::uint16_t kNone = 0;

// RFC 3261 Figure 5 (17.1.1), with RFC 6026 section 7.2: a 2xx moves to Accepted,
// where further 2xx go to the TU until Timer M.
constexpr Row kInviteClient[] = {
    {Calling, Start, kSendRequest, kNone, A | B, Calling},
    {Calling, TimerA, kResendRequest, kNone, A, Calling},
    {Calling, TimerB, kReportTimeout, kNone, kNone, Terminated},
    {Calling, TransportError, kReportTransportError, kNone, kNone, Terminated},
    {Calling, Recv1xx, kPassToTu, A | B, kNone, Proceeding},
    {Calling, Recv2xx, kPassToTu, A | B, M, Accepted},
    {Calling, RecvFinal, kSendAck | kPassToTu, A | B, D, Completed},
    {Proceeding, Recv1xx, kPassToTu, kNone, kNone, Proceeding},
    {Proceeding, Recv2xx, kPassToTu, kNone, M, Accepted},
    {Proceeding, RecvFinal, kSendAck | kPassToTu, kNone, D, Completed},
    {Completed, RecvFinal, kResendAck | kAbsorb, kNone, kNone, Completed},
    {Completed, TransportError, kReportTransportError, kNone, kNone, Terminated},
    {Completed, TimerD, kNone, kNone, kNone, Terminated},
    {Accepted, Recv2xx, kPassToTu, kNone, kNone, Accepted},
    {Accepted, TimerM, kNone, kNone, kNone, Terminated},
};

// RFC 3261 Figure 6 (17.1.2). 2xx and 3xx-6xx are one arrow ("200-699").
constexpr Row kNonInviteClient[] = {
    {Trying, Start, kSendRequest, kNone, E | F, Trying},
    {Trying, TimerE, kResendRequest, kNone, E, Trying},
    {Trying, TimerF, kReportTimeout, E, kNone, Terminated},
    {Trying, TransportError, kReportTransportError, kNone, kNone, Terminated},
    {Trying, Recv1xx, kPassToTu, kNone, kNone, Proceeding},
    {Trying, Recv2xx, kPassToTu, E | F, K, Completed},
    {Trying, RecvFinal, kPassToTu, E | F, K, Completed},
    {Proceeding, TimerE, kResendRequest, kNone, E, Proceeding},
    {Proceeding, TimerF, kReportTimeout, E, kNone, Terminated},
    {Proceeding, TransportError, kReportTransportError, kNone, kNone, Terminated},
    {Proceeding, Recv1xx, kPassToTu, kNone, kNone, Proceeding},
    {Proceeding, Recv2xx, kPassToTu, E | F, K, Completed},
    {Proceeding, RecvFinal, kPassToTu, E | F, K, Completed},
    {Completed, Recv1xx, kAbsorb, kNone, kNone, Completed},
    {Completed, Recv2xx, kAbsorb, kNone, kNone, Completed},
    {Completed, RecvFinal, kAbsorb, kNone, kNone, Completed},
    {Completed, TimerK, kNone, kNone, kNone, Terminated},
};

// RFC 3261 Figure 7 (17.2.1), with RFC 6026 section 7.1: a 2xx from the TU moves to
// Accepted; there INVITE repeats are absorbed (the TU retransmits its 2xx), ACKs go
// to the TU, and a transport error does not end the transaction.
constexpr Row kInviteServer[] = {
    {Proceeding, Start, kPassToTu, kNone, TRY, Proceeding},
    {Proceeding, TimerTrying, kSend100, kNone, kNone, Proceeding},
    {Proceeding, RecvRequest, kResendResponse | kAbsorb, kNone, kNone, Proceeding},
    {Proceeding, Tu1xx, kSendResponse, TRY, kNone, Proceeding},
    {Proceeding, Tu2xx, kSendResponse, TRY, L, Accepted},
    {Proceeding, TuFinal, kSendResponse, TRY, G | H, Completed},
    {Proceeding, TransportError, kReportTransportError, TRY, kNone, Terminated},
    {Completed, RecvRequest, kResendResponse | kAbsorb, kNone, kNone, Completed},
    {Completed, TimerG, kResendResponse, kNone, G, Completed},
    {Completed, RecvAck, kNone, G | H, I, Confirmed},
    {Completed, TimerH, kReportTimeout, G, kNone, Terminated},
    {Completed, TransportError, kReportTransportError, kNone, kNone, Terminated},
    {Confirmed, RecvAck, kAbsorb, kNone, kNone, Confirmed},
    {Confirmed, RecvRequest, kAbsorb, kNone, kNone, Confirmed},
    {Confirmed, TimerI, kNone, kNone, kNone, Terminated},
    {Accepted, RecvRequest, kAbsorb, kNone, kNone, Accepted},
    {Accepted, RecvAck, kPassToTu, kNone, kNone, Accepted},
    {Accepted, Tu2xx, kSendResponse, kNone, kNone, Accepted},
    {Accepted, TransportError, kReportTransportError, kNone, kNone, Accepted},
    {Accepted, TimerL, kNone, kNone, kNone, Terminated},
};

// RFC 3261 Figure 8 (17.2.2).
constexpr Row kNonInviteServer[] = {
    {Trying, Start, kPassToTu, kNone, kNone, Trying},
    {Trying, RecvRequest, kAbsorb, kNone, kNone, Trying},
    {Trying, Tu1xx, kSendResponse, kNone, kNone, Proceeding},
    {Trying, Tu2xx, kSendResponse, kNone, J, Completed},
    {Trying, TuFinal, kSendResponse, kNone, J, Completed},
    {Proceeding, RecvRequest, kResendResponse | kAbsorb, kNone, kNone, Proceeding},
    {Proceeding, Tu1xx, kSendResponse, kNone, kNone, Proceeding},
    {Proceeding, Tu2xx, kSendResponse, kNone, J, Completed},
    {Proceeding, TuFinal, kSendResponse, kNone, J, Completed},
    {Proceeding, TransportError, kReportTransportError, kNone, kNone, Terminated},
    {Completed, RecvRequest, kResendResponse | kAbsorb, kNone, kNone, Completed},
    {Completed, TransportError, kReportTransportError, kNone, kNone, Terminated},
    {Completed, TimerJ, kNone, kNone, kNone, Terminated},
};

constexpr Figure kFigures[2][2] = {
    {{"RFC 3261 Figure 5 + RFC 6026 (INVITE client)", Calling, kInviteClient},
     {"RFC 3261 Figure 6 (non-INVITE client)", Trying, kNonInviteClient}},
    {{"RFC 3261 Figure 7 + RFC 6026 (INVITE server)", Proceeding, kInviteServer},
     {"RFC 3261 Figure 8 (non-INVITE server)", Trying, kNonInviteServer}},
};

}  // namespace

EventKind response_event(int status, bool from_tu) {
  if (status < 200) return from_tu ? Tu1xx : Recv1xx;
  if (status < 300) return from_tu ? Tu2xx : Recv2xx;
  return from_tu ? TuFinal : RecvFinal;
}

const Figure& figure_for(Role role, Kind kind) {
  return kFigures[role == Role::Server ? 1 : 0][kind == Kind::NonInvite ? 1 : 0];
}

const Row* find_row(const Figure& figure, State state, EventKind event) {
  // At most 20 rows: a scan beats hashing here.
  for (const Row& row : figure.rows)
    if (row.from == state && row.event == event) return &row;
  return nullptr;
}

std::optional<Millis> timer_duration(const TimerSettings& s, TimerId timer, bool reliable, State state,
                                     std::optional<Millis> previous) {
  const Millis long_wait = 64 * s.t1;  // B, F, H, J (Table 4); L, M (RFC 6026 8.11, 8.4)
  switch (timer) {
    case TimerId::A:  // 17.1.1.2: T1, doubling on every firing
      if (reliable) return std::nullopt;
      return previous ? 2 * *previous : s.t1;
    case TimerId::E:  // 17.1.2.2: doubling up to T2; T2 once Proceeding
      if (reliable) return std::nullopt;
      if (!previous) return s.t1;
      return state == Proceeding ? s.t2 : std::min(2 * *previous, s.t2);
    case TimerId::G:  // 17.2.1: T1, doubling up to T2
      if (reliable) return std::nullopt;
      return previous ? std::min(2 * *previous, s.t2) : s.t1;
    case TimerId::B:
    case TimerId::F:
    case TimerId::H:
    case TimerId::L:
    case TimerId::M:
      return long_wait;
    case TimerId::J:
      return reliable ? Millis{0} : long_wait;
    case TimerId::D:
      return reliable ? Millis{0} : s.d;
    case TimerId::I:
    case TimerId::K:
      return reliable ? Millis{0} : s.t4;
    case TimerId::Trying:
      return s.trying;
    case TimerId::Count:
      break;
  }
  return std::nullopt;
}

}  // namespace sipbox::txn::detail
