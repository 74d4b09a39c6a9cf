// The proxy's use of the media relay (media_anchor.h): which calls are relayed
// (relay-mode always / nat-only / never), the SDP rewrite of offer and answer (c=, m=
// port, a=rtcp, ICE removed) in both directions and in re-INVITEs, and the end of the
// call's media on BYE and on failure. The relay is a recording fake.
#include <map>
#include <set>

#include "sip/sdp.h"
#include "tests/unit/proxy/fixture.h"

namespace sipbox::proxy::test {
namespace {

class FakeRelay final : public media::MediaRelay {
 public:
  struct Remote {
    media::Endpoint rtp, rtcp;
    bool mux = false;
  };
  // Offerer's side 30000 + 10 index, answerer's 40000 + 10 index.
  Result<std::uint16_t> allocate(std::string_view call_id, unsigned index, media::Side side,
                                 std::string_view family_of) override {
    families[side] = std::string(family_of);
    calls.insert(std::string(call_id));
    return static_cast<std::uint16_t>((side == media::Side::offerer ? 30000 : 40000) + 10 * index);
  }
  Status set_remote(std::string_view, unsigned index, media::Side side, const media::Endpoint& rtp,
                    const media::Endpoint& rtcp, bool mux) override {
    remotes[{index, side}] = Remote{rtp, rtcp, mux};
    return {};
  }
  Status set_codec(std::string_view, unsigned index, media::Side sender, const media::CodecInfo& codec) override {
    codecs[{index, sender}] = codec;
    return {};
  }
  Status set_held(std::string_view, unsigned index, media::Side side, bool on_hold) override {
    held[{index, side}] = on_hold;
    return {};
  }
  void end(std::string_view call_id, media::EndReason reason) override {
    ended.emplace_back(std::string(call_id), reason);
    calls.erase(std::string(call_id));
  }
  void end_later(std::string_view call_id, media::EndReason reason) override { end(call_id, reason); }
  bool has_call(std::string_view call_id) const override { return calls.contains(std::string(call_id)); }
  media::RelayCounters counters() const override { return {}; }

  std::map<std::pair<unsigned, media::Side>, Remote> remotes;
  std::map<std::pair<unsigned, media::Side>, media::CodecInfo> codecs;
  std::map<media::Side, std::string> families;
  std::map<std::pair<unsigned, media::Side>, bool> held;
  std::vector<std::pair<std::string, media::EndReason>> ended;
  std::set<std::string> calls;
};

std::string with_sdp(std::string text, std::string_view sdp) {
  for (std::string_view end : {"Content-Length: 0\r\n\r\n", "Content-Length: 0\n\n"}) {
    const auto at = text.find(end);
    if (at != std::string::npos) return text.substr(0, at) + "Content-Type: application/sdp\r\n\r\n" + std::string(sdp);
  }
  ADD_FAILURE() << "no empty body in " << text;
  return text;
}

std::string offer(std::string_view address, unsigned port, std::string_view extra = "") {
  return "v=0\r\no=alice 1 1 IN IP4 " + std::string(address) + "\r\ns=-\r\nc=IN IP4 " + std::string(address) +
         "\r\nt=0 0\r\nm=audio " + std::to_string(port) + " RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n" +
         "a=ptime:30\r\n" + std::string(extra);
}

sip::SessionDescription sdp_of(const Out& out) {
  auto sdp = sip::parse_sdp(out.m().body());
  EXPECT_TRUE(sdp) << out.m().body();
  return sdp ? *sdp : sip::SessionDescription{};
}

class Media : public ProxyTest {
 protected:
  void SetUp() override {
    relay = &fake;
    media_settings.mode = MediaSettings::Mode::always;
    bind("bob", "sip:bob@198.51.100.20:5062", bob_addr());
  }
  // Alice's authenticated INVITE with `sdp`; the INVITE as forwarded to Bob.
  Out invite(std::string_view sdp) {
    Request r;
    r.extra = "Contact: <sip:alice@198.51.100.10:5060>\nProxy-Authorization: " +
              credentials("alice", "secret", r.method, r.uri) + "\n";
    deliver(with_sdp(r.text(), sdp), alice_addr());
    auto sent = take();
    EXPECT_EQ(sent.size(), 2u);
    if (sent.empty()) return Out{{}, std::make_unique<Msg>(Request{}.text())};
    return std::move(sent[0]);
  }
  FakeRelay fake;
};

TEST_F(Media, offer_and_answer_are_rewritten_to_the_relay_and_the_relay_learns_both_parties) {
  const Out to_bob =
      invite(offer("198.51.100.10", 4000, "a=rtcp:4001\r\na=candidate:1 1 UDP 1 198.51.100.10 4000 typ host\r\n"));
  const auto sdp = sdp_of(to_bob);
  ASSERT_EQ(sdp.media.size(), 1u);
  EXPECT_EQ(sdp.media[0].port, 40000);  // the port Bob's side sends to
  ASSERT_NE(sdp.connection_for(sdp.media[0]), nullptr);
  EXPECT_EQ(sdp.connection_for(sdp.media[0])->address, "192.0.2.1");
  EXPECT_EQ(sdp.media[0].rtcp()->port, 40001);
  EXPECT_FALSE(sdp.media[0].has_attribute("candidate"));
  EXPECT_EQ(sdp.media[0].formats, (std::vector<std::string>{"8", "0", "101"}));  // codecs untouched
  const auto& caller = fake.remotes.at({0, media::Side::offerer});
  EXPECT_EQ(caller.rtp, (media::Endpoint{"198.51.100.10", 4000}));
  EXPECT_EQ(caller.rtcp, (media::Endpoint{"198.51.100.10", 4001}));
  const auto& codec = fake.codecs.at({0, media::Side::offerer});
  EXPECT_EQ(codec.payload_type, 8);
  EXPECT_EQ(codec.encoding_name, "PCMA");
  EXPECT_EQ(codec.ptime_ms, 30);
  EXPECT_EQ(fake.families[media::Side::answerer], "198.51.100.20");

  const std::string answer =
      "v=0\r\no=bob 2 2 IN IP4 198.51.100.20\r\ns=-\r\nc=IN IP4 198.51.100.20\r\nt=0 0\r\n"
      "m=audio 5000 RTP/AVP 0\r\na=rtcp-mux\r\n";
  deliver(with_sdp(response_to(to_bob.m(), 200, "OK", "b1", "Contact: <sip:bob@198.51.100.20:5062>\r\n"), answer),
          bob_addr());
  auto sent = take();
  ASSERT_EQ(lines(sent), std::vector<std::string>{"SIP/2.0 200 OK -> 198.51.100.10:5060"});
  const auto answered = sdp_of(sent[0]);
  EXPECT_EQ(answered.media[0].port, 30000);  // the port Alice's side sends to
  EXPECT_EQ(answered.connection->address, "192.0.2.1");
  EXPECT_TRUE(answered.media[0].rtcp_mux());
  const auto& callee = fake.remotes.at({0, media::Side::answerer});
  EXPECT_EQ(callee.rtp, (media::Endpoint{"198.51.100.20", 5000}));
  EXPECT_TRUE(callee.mux);
  EXPECT_EQ(fake.codecs.at({0, media::Side::answerer}).encoding_name, "PCMU");
  EXPECT_EQ(fake.families[media::Side::offerer], "198.51.100.10");

  // Bob puts Alice on hold with a re-INVITE: Bob is the answerer side, so his new
  // address goes to the answerer's remote and Alice is shown her own side's port.
  Request reinvite;
  reinvite.uri = "sip:alice@198.51.100.10:5060";
  reinvite.from = "<sip:bob@example.com>;tag=b1";
  reinvite.to = "<sip:alice@example.com>;tag=a1";
  reinvite.cseq = 7;
  reinvite.via = "SIP/2.0/UDP 198.51.100.20:5062;branch=z9hG4bKre1";
  reinvite.extra = "Route: <sip:192.0.2.1:5060;lr>\n";
  const std::string hold =
      "v=0\r\no=bob 2 3 IN IP4 198.51.100.20\r\ns=-\r\nc=IN IP4 198.51.100.20\r\nt=0 0\r\n"
      "m=audio 5002 RTP/AVP 0\r\na=sendonly\r\n";
  deliver(with_sdp(reinvite.text(), hold), bob_addr());
  sent = take();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent[0].start_line(), "INVITE sip:alice@198.51.100.10:5060 SIP/2.0");
  const auto held = sdp_of(sent[0]);
  EXPECT_EQ(held.media[0].port, 30000);
  EXPECT_EQ(held.direction(held.media[0]), sip::SdpDirection::SendOnly);
  EXPECT_EQ(fake.remotes.at({0, media::Side::answerer}).rtp.port, 5002);
  EXPECT_TRUE(fake.held.at({0, media::Side::answerer}));  // a=sendonly: held by direction
  EXPECT_FALSE(fake.held.at({0, media::Side::offerer}));

  Request bye;
  bye.method = "BYE";
  bye.uri = "sip:bob@198.51.100.20:5062";
  bye.to = "<sip:bob@example.com>;tag=b1";
  bye.cseq = 2;
  bye.via = "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKbye1";
  bye.extra = "Route: <sip:192.0.2.1:5060;lr>\n";
  deliver(bye.text(), alice_addr());
  ASSERT_EQ(fake.ended.size(), 1u);
  EXPECT_EQ(fake.ended[0], std::make_pair(std::string("call-1@198.51.100.10"), media::EndReason::hangup));
}

TEST_F(Media, hold_with_the_unspecified_address_reaches_the_other_party) {
  // c=0.0.0.0 (RFC 3264 8.4, RFC 2543 hold): the relay is told (it stops sending to the
  // holder) and the other party still sees 0.0.0.0, not the relay's address, so it knows.
  const Out to_bob = invite(offer("0.0.0.0", 4000, "a=rtcp:4001\r\n"));
  const auto sdp = sdp_of(to_bob);
  ASSERT_EQ(sdp.media.size(), 1u);
  EXPECT_EQ(sdp.media[0].port, 40000);
  ASSERT_NE(sdp.connection_for(sdp.media[0]), nullptr);
  EXPECT_EQ(sdp.connection_for(sdp.media[0])->address, "0.0.0.0");
  ASSERT_TRUE(sdp.connection);
  EXPECT_EQ(sdp.connection->address, "0.0.0.0");
  EXPECT_EQ(sdp.media[0].rtcp()->address, "0.0.0.0");
  EXPECT_EQ(fake.remotes.at({0, media::Side::offerer}).rtp, (media::Endpoint{"0.0.0.0", 4000}));
}

TEST_F(Media, a_spiral_does_not_anchor_the_call_on_itself) {
  const Out to_bob = invite(offer("198.51.100.10", 4000));
  const auto sdp = sdp_of(to_bob);
  ASSERT_EQ(sdp.media[0].port, 40000);
  fake.remotes.clear();
  // The rewritten offer comes back to the proxy (as if it routed to itself).
  Request again;
  again.via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKspiral1";
  again.uri = "sip:bob@example.com";
  again.call_id = "call-1@198.51.100.10";
  again.from = "<sip:zed@remote.example.org>;tag=a1";
  deliver(with_sdp(again.text(), sip::serialize_sdp(sdp)), Destination{"192.0.2.1", 5060, TransportKind::Udp});
  take();
  EXPECT_TRUE(fake.remotes.empty()) << "the relay was told its own address";
}

TEST_F(Media, a_failed_call_ends_its_media) {
  const Out to_bob = invite(offer("198.51.100.10", 4000));
  deliver(response_to(to_bob.m(), 486, "Busy Here"), bob_addr());
  EXPECT_EQ(lines(take()), (std::vector<std::string>{"ACK sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                     "SIP/2.0 486 Busy Here -> 198.51.100.10:5060"}));
  ASSERT_EQ(fake.ended.size(), 1u);
  EXPECT_EQ(fake.ended[0].second, media::EndReason::failed);
}

TEST_F(Media, nat_only_relays_a_caller_whose_sdp_names_another_address) {
  media_settings.mode = MediaSettings::Mode::nat_only;
  Out direct = invite(offer("198.51.100.10", 4000));  // SDP address = source address: public
  EXPECT_EQ(sdp_of(direct).media[0].port, 4000);
  EXPECT_TRUE(fake.remotes.empty());
}

TEST_F(Media, nat_only_relays_a_caller_behind_nat) {
  media_settings.mode = MediaSettings::Mode::nat_only;
  Out relayed = invite(offer("10.0.0.7", 4000));
  EXPECT_EQ(sdp_of(relayed).media[0].port, 40000);
  EXPECT_EQ(fake.remotes.at({0, media::Side::offerer}).rtp, (media::Endpoint{"10.0.0.7", 4000}));
}

TEST_F(Media, never_leaves_sdp_alone) {
  media_settings.mode = MediaSettings::Mode::never;
  Out direct = invite(offer("10.0.0.7", 4000));
  EXPECT_EQ(sdp_of(direct).media[0].port, 4000);
  EXPECT_TRUE(fake.calls.empty());
}

TEST_F(Media, a_rejected_stream_passes_unchanged) {
  const std::string sdp = offer("198.51.100.10", 4000) + "m=video 0 RTP/AVP 96\r\n";
  const Out to_bob = invite(sdp);
  const auto rewritten = sdp_of(to_bob);
  ASSERT_EQ(rewritten.media.size(), 2u);
  EXPECT_EQ(rewritten.media[0].port, 40000);
  EXPECT_EQ(rewritten.media[1].port, 0);
  EXPECT_FALSE(fake.remotes.contains({1, media::Side::offerer}));
}

}  // namespace
}  // namespace sipbox::proxy::test
