// SDP (RFC 8866): parsing real offers and answers, typed access, edits, canonical round
// trips, and a table of malformed descriptions with the error each must give.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sip/sip.h"

namespace sipbox::sip {
namespace {

// Test text is written with LF; canonical SDP uses CRLF.
std::string crlf(std::string_view lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

SessionDescription parse_ok(std::string_view text) {
  auto sdp = parse_sdp(text);
  EXPECT_TRUE(sdp.has_value()) << (sdp ? "" : sdp.error().message) << "\n" << text;
  return sdp ? std::move(*sdp) : SessionDescription{};
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// RFC 8866 5 example, with an IPv6 media connection.
constexpr std::string_view kRfc8866Example = R"(v=0
o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1
s=Call to John Smith
i=SDP Offer #1
u=http://www.jdoe.example.com/home.html
e=Jane Doe <jane@jdoe.example.com>
p=+1 617 555-6011
c=IN IP4 198.51.100.1
t=0 0
m=audio 49170 RTP/AVP 0
m=audio 49180 RTP/AVP 0
m=video 51372 RTP/AVP 99
c=IN IP6 2001:db8::2
a=rtpmap:99 h263-1998/90000
)";

// RFC 4566 5 example plus repeat times, a zone adjustment and k=.
constexpr std::string_view kRfc4566Example = R"(v=0
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5
s=SDP Seminar
i=A Seminar on the session description protocol
u=http://www.example.com/seminars/sdp.pdf
e=j.doe@example.com (Jane Doe)
c=IN IP4 224.2.17.12/127
b=CT:1000
t=2873397496 2873404696
r=604800 3600 0 90000
r=7d 1h 0 25h
z=2882844526 -1h 2898848070 0
t=0 0
k=prompt
a=recvonly
m=audio 49170 RTP/AVP 0
i=voice
b=AS:64
k=clear:secret
a=ptime:20
m=video 51372/2 RTP/AVP 99
a=rtpmap:99 h263-1998/90000
)";

constexpr std::string_view kWebRtcOffer = R"(v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0
a=msid-semantic: WMS
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 110 126
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:EsAw
a=setup:actpass
a=mid:0
a=sendrecv
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=maxptime:120
)";

constexpr std::string_view kSrtpOffer = R"(v=0
o=bob 2808844564 2808844565 IN IP4 203.0.113.7
s=-
c=IN IP4 203.0.113.7
t=0 0
a=sendonly
m=audio 20000 RTP/SAVP 0 101
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp:20001
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32 KDR=1 UNENCRYPTED_SRTCP
a=ptime:30
m=video 20002 RTP/SAVP 96
a=inactive
m=text 0 RTP/AVP 98
)";

TEST(SdpRfc4475, EverySdpBodyInTheTortureTestsParses) {
  // Messages whose SDP bodies are well-formed; mismatch02.dat omits s= and t= on purpose.
  const std::vector<std::string> files = {"wsinv.dat",   "sdp01.dat",   "esc01.dat",    "escruri.dat", "insuf.dat",
                                          "inv2543.dat", "longreq.dat", "ltgtruri.dat", "lwsruri.dat", "lwsstart.dat",
                                          "multi01.dat", "quotbal.dat", "unreason.dat", "baddate.dat", "badinv01.dat",
                                          "bcast.dat",   "clerr.dat",   "ncl.dat"};
  for (const std::string& name : files) {
    const std::string bytes = read_file(std::filesystem::path(SIPBOX_CORPORA) / "rfc4475" / name);
    const auto blank = bytes.find("\r\n\r\n");
    ASSERT_NE(blank, std::string::npos) << name;
    auto sdp = parse_sdp(std::string_view(bytes).substr(blank + 4));
    ASSERT_TRUE(sdp.has_value()) << name << ": " << sdp.error().message;
    EXPECT_EQ(sdp->media.size(), name == "inv2543.dat" ? 1u : 2u) << name;
  }
}

TEST(SdpRfc4475, WsinvBodyValues) {
  const std::string bytes = read_file(std::filesystem::path(SIPBOX_CORPORA) / "rfc4475" / "wsinv.dat");
  const SessionDescription sdp = parse_ok(std::string_view(bytes).substr(bytes.find("\r\n\r\n") + 4));
  EXPECT_EQ(sdp.origin.username, "mhandley");
  EXPECT_EQ(sdp.origin.session_id, "29739");
  EXPECT_EQ(sdp.origin.session_version, "7272939");
  EXPECT_EQ(sdp.origin.address, "192.0.2.3");
  ASSERT_EQ(sdp.media.size(), 2u);
  EXPECT_EQ(sdp.connection_for(sdp.media[0])->address, "192.0.2.4");
  EXPECT_EQ(sdp.media[0].formats, (std::vector<std::string>{"0", "12"}));
  EXPECT_EQ(sdp.media[1].media, "video");
  EXPECT_EQ(sdp.media[1].port, 3227);
  // "a=rtpmap:31 LPC" has no clock rate; RFC 4475 still calls the message valid.
  const auto lpc = sdp.media[1].rtpmap(31);
  ASSERT_TRUE(lpc);
  EXPECT_EQ(lpc->encoding, "LPC");
  EXPECT_EQ(lpc->clock_rate, 0u);
  // Static payload types come from the RFC 3551 table.
  EXPECT_EQ(sdp.media[0].rtpmap(0)->encoding, "PCMU");
  EXPECT_EQ(sdp.media[0].rtpmap(12)->encoding, "QCELP");
  EXPECT_FALSE(sdp.media[0].rtpmap(8));  // static, but not offered
}

TEST(SdpRfc8866_5, ExampleFieldsAndOrder) {
  const SessionDescription sdp = parse_ok(crlf(kRfc8866Example));
  EXPECT_EQ(sdp.session_name, "Call to John Smith");
  EXPECT_EQ(sdp.information, "SDP Offer #1");
  EXPECT_EQ(sdp.uri, "http://www.jdoe.example.com/home.html");
  EXPECT_EQ(sdp.emails, (std::vector<std::string>{"Jane Doe <jane@jdoe.example.com>"}));
  EXPECT_EQ(sdp.phones, (std::vector<std::string>{"+1 617 555-6011"}));
  ASSERT_EQ(sdp.timings.size(), 1u);
  EXPECT_EQ(sdp.timings[0].start, 0u);
  ASSERT_EQ(sdp.media.size(), 3u);
  EXPECT_EQ(sdp.connection_for(sdp.media[1])->address, "198.51.100.1");
  const SdpConnection* video = sdp.connection_for(sdp.media[2]);
  ASSERT_NE(video, nullptr);
  EXPECT_TRUE(video->is_ipv6());
  EXPECT_EQ(video->address, "2001:db8::2");
  EXPECT_FALSE(video->is_multicast());
  EXPECT_EQ(sdp.media[2].rtpmap(99)->encoding, "h263-1998");
  EXPECT_EQ(sdp.media[2].rtpmap(99)->clock_rate, 90000u);
}

TEST(SdpRfc8866_5, CanonicalTextRoundTripsByteForByte) {
  for (std::string_view sample : {kRfc8866Example, kRfc4566Example, kWebRtcOffer, kSrtpOffer}) {
    const std::string text = crlf(sample);
    EXPECT_EQ(serialize_sdp(parse_ok(text)), text);
  }
}

TEST(SdpRfc8866_5, FuzzSeedsRoundTripByteForByte) {
  const auto dir = std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "fuzz" / "sdp_seeds";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string text = read_file(entry.path());
    EXPECT_EQ(serialize_sdp(parse_ok(text)), text) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 8);
}

TEST(SdpRfc8866_5, LfInputSerializesWithCrlf) {
  const std::string lf(kRfc4566Example);
  EXPECT_EQ(serialize_sdp(parse_ok(lf)), crlf(lf));
  // A last line without a line end is accepted too, as are trailing empty lines.
  EXPECT_EQ(serialize_sdp(parse_ok("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0")),
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n");
  EXPECT_EQ(serialize_sdp(parse_ok("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n\r\n")),
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n");
}

TEST(SdpRfc8866_5, LiberalInputBecomesCanonical) {
  // Runs of spaces, session lines out of order, a z= after the last t= (RFC 4566 order).
  const std::string messy =
      "v=0\n"
      "o=-  7 8 IN IP4 192.0.2.1 \n"
      "s=-\n"
      "t=0 0\n"
      "a=tool:x\n"
      "c=IN IP4 192.0.2.1\n"
      "z=2882844526 -1h\n"
      "m=audio  4000 RTP/AVP 0  8 \n"
      "a=sendonly\n"
      "c=IN IP4 192.0.2.2\n";
  const std::string canonical = serialize_sdp(parse_ok(messy));
  EXPECT_EQ(canonical, crlf("v=0\n"
                            "o=- 7 8 IN IP4 192.0.2.1\n"
                            "s=-\n"
                            "c=IN IP4 192.0.2.1\n"
                            "t=0 0\n"
                            "z=2882844526 -1h\n"
                            "a=tool:x\n"
                            "m=audio 4000 RTP/AVP 0 8\n"
                            "c=IN IP4 192.0.2.2\n"
                            "a=sendonly\n"));
  EXPECT_EQ(serialize_sdp(parse_ok(canonical)), canonical);
}

TEST(SdpRfc8866_5_7, ConnectionMulticastTtlAndCount) {
  const SessionDescription sdp = parse_ok(crlf(kRfc4566Example));
  ASSERT_TRUE(sdp.connection);
  EXPECT_EQ(sdp.connection->address, "224.2.17.12");
  EXPECT_EQ(sdp.connection->ttl, 127u);
  EXPECT_FALSE(sdp.connection->count);
  EXPECT_TRUE(sdp.connection->is_multicast());

  const SessionDescription m4 =
      parse_ok(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 233.252.0.1/127/3\nt=0 0\n"
                    "m=audio 5000 RTP/AVP 0\nc=IN IP6 FF15::101/3\nc=IN IP6 media.example.net\n"));
  EXPECT_EQ(m4.connection->ttl, 127u);
  EXPECT_EQ(m4.connection->count, 3u);
  ASSERT_EQ(m4.media[0].connections.size(), 2u);
  const SdpConnection& v6 = m4.media[0].connections[0];
  EXPECT_EQ(v6.address, "FF15::101");
  EXPECT_FALSE(v6.ttl);  // IP6 has no TTL: the suffix is the address count
  EXPECT_EQ(v6.count, 3u);
  EXPECT_TRUE(v6.is_multicast());
  EXPECT_EQ(m4.media[0].connections[1].address, "media.example.net");
  EXPECT_FALSE(m4.media[0].connections[1].is_multicast());
}

TEST(SdpRfc8866_5_7, ConnectionTextOnItsOwn) {
  const auto c = parse_sdp_connection("IN IP4 233.252.0.1/127/3");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address, "233.252.0.1");
  EXPECT_EQ(c->ttl, 127u);
  EXPECT_EQ(c->count, 3u);
  const auto other = parse_sdp_connection("ATM NSAP 47.0091.8100.0000.0060.3e64.fd01.0060.3e64.fd01.00");
  ASSERT_TRUE(other);  // unknown types are kept as written (RFC 8866 5.7)
  EXPECT_EQ(other->addr_type, "NSAP");
  EXPECT_FALSE(parse_sdp_connection("IN IP4 192.0.2.1 extra"));
  EXPECT_FALSE(parse_sdp_connection("IN IP4 192.0.2.1/x"));
}

TEST(SdpRfc8866_5_8, Bandwidths) {
  const SessionDescription sdp = parse_ok(crlf(kRfc4566Example));
  ASSERT_EQ(sdp.bandwidths.size(), 1u);
  EXPECT_EQ(sdp.bandwidths[0].type, "CT");
  EXPECT_EQ(sdp.bandwidths[0].value, 1000u);
  ASSERT_EQ(sdp.media[0].bandwidths.size(), 1u);
  EXPECT_EQ(sdp.media[0].bandwidths[0].type, "AS");
  EXPECT_EQ(sdp.media[0].bandwidths[0].value, 64u);
}

TEST(SdpRfc8866_5_9, TimingsRepeatsAndZones) {
  const SessionDescription sdp = parse_ok(crlf(kRfc4566Example));
  ASSERT_EQ(sdp.timings.size(), 2u);
  EXPECT_EQ(sdp.timings[0].start, 2873397496u);
  EXPECT_EQ(sdp.timings[0].stop, 2873404696u);
  EXPECT_EQ(sdp.timings[0].repeats, (std::vector<std::string>{"604800 3600 0 90000", "7d 1h 0 25h"}));
  EXPECT_EQ(sdp.timings[0].zone, "2882844526 -1h 2898848070 0");
  EXPECT_TRUE(sdp.timings[1].repeats.empty());
  EXPECT_EQ(sdp.key, "prompt");
  EXPECT_EQ(sdp.media[0].key, "clear:secret");
  EXPECT_EQ(sdp.media[0].information, "voice");
  EXPECT_EQ(sdp.media[1].port_count, 2u);
}

TEST(SdpRfc3551, RtpmapAndFmtp) {
  const SessionDescription sdp = parse_ok(crlf(kWebRtcOffer));
  const SdpMedia& audio = sdp.media.at(0);
  EXPECT_TRUE(audio.is_rtp());
  const auto opus = audio.rtpmap(111);
  ASSERT_TRUE(opus);
  EXPECT_EQ(opus->payload_type, 111u);
  EXPECT_EQ(opus->encoding, "opus");
  EXPECT_EQ(opus->clock_rate, 48000u);
  EXPECT_EQ(opus->channels, 2u);
  const auto dtmf = audio.rtpmap(126);
  ASSERT_TRUE(dtmf);
  EXPECT_EQ(dtmf->encoding, "telephone-event");
  EXPECT_EQ(dtmf->clock_rate, 8000u);
  EXPECT_EQ(dtmf->channels, 1u);
  EXPECT_EQ(audio.rtpmap(0)->encoding, "PCMU");  // static, offered, no rtpmap line
  EXPECT_EQ(audio.rtpmap(8)->encoding, "PCMA");
  EXPECT_FALSE(audio.rtpmap(96));
  EXPECT_EQ(audio.fmtp(111), "minptime=10;useinbandfec=1");
  EXPECT_EQ(audio.fmtp(63), "111/111");
  EXPECT_FALSE(audio.fmtp(0));
  EXPECT_EQ(parse_ok(crlf(kSrtpOffer)).media[0].fmtp(101), "0-15");
}

TEST(SdpRfc8866_6_4, PtimeAndMaxptime) {
  EXPECT_EQ(parse_ok(crlf(kSrtpOffer)).media[0].ptime(), 30.0);
  EXPECT_EQ(parse_ok(crlf(kWebRtcOffer)).media[0].maxptime(), 120.0);
  EXPECT_FALSE(parse_ok(crlf(kWebRtcOffer)).media[0].ptime());
  SdpMedia m;
  m.add_attribute("ptime", "22.5");
  EXPECT_EQ(m.ptime(), 22.5);
  m.set_attribute("ptime", "abc");
  EXPECT_FALSE(m.ptime());
  m.set_attribute("ptime", "0");
  EXPECT_FALSE(m.ptime());
}

TEST(SdpRfc8866_6_7, DirectionMediaOverridesSessionDefaultSendrecv) {
  const SessionDescription srtp = parse_ok(crlf(kSrtpOffer));
  EXPECT_EQ(srtp.own_direction(), SdpDirection::SendOnly);
  EXPECT_EQ(srtp.direction(srtp.media[0]), SdpDirection::SendOnly);  // inherited
  EXPECT_EQ(srtp.direction(srtp.media[1]), SdpDirection::Inactive);  // media overrides
  const SessionDescription rfc = parse_ok(crlf(kRfc8866Example));
  EXPECT_EQ(rfc.direction(rfc.media[0]), SdpDirection::SendRecv);  // default
  const SessionDescription recv = parse_ok(crlf(kRfc4566Example));
  EXPECT_EQ(recv.direction(recv.media[1]), SdpDirection::RecvOnly);
  EXPECT_EQ(to_string(SdpDirection::Inactive), "inactive");
}

TEST(SdpRfc3605, RtcpAttribute) {
  const SessionDescription web = parse_ok(crlf(kWebRtcOffer));
  const auto rtcp = web.media[0].rtcp();
  ASSERT_TRUE(rtcp);
  EXPECT_EQ(rtcp->port, 9);
  EXPECT_EQ(rtcp->net_type, "IN");
  EXPECT_EQ(rtcp->addr_type, "IP4");
  EXPECT_EQ(rtcp->address, "0.0.0.0");
  const auto port_only = parse_ok(crlf(kSrtpOffer)).media[0].rtcp();
  ASSERT_TRUE(port_only);
  EXPECT_EQ(port_only->port, 20001);
  EXPECT_TRUE(port_only->address.empty());
  EXPECT_FALSE(parse_ok(crlf(kSrtpOffer)).media[1].rtcp());
  SdpMedia bad;
  bad.add_attribute("rtcp", "70000");
  EXPECT_FALSE(bad.rtcp());
}

TEST(SdpRfc5761, RtcpMux) {
  EXPECT_TRUE(parse_ok(crlf(kWebRtcOffer)).media[0].rtcp_mux());
  EXPECT_FALSE(parse_ok(crlf(kSrtpOffer)).media[0].rtcp_mux());
}

TEST(SdpRfc4568, CryptoAttributes) {
  const SessionDescription sdp = parse_ok(crlf(kSrtpOffer));
  const auto crypto = sdp.media[0].crypto();
  ASSERT_EQ(crypto.size(), 2u);
  EXPECT_EQ(crypto[0].tag, 1u);
  EXPECT_EQ(crypto[0].suite, "AES_CM_128_HMAC_SHA1_80");
  EXPECT_EQ(crypto[0].key_params, "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32");
  EXPECT_TRUE(crypto[0].session_params.empty());
  EXPECT_EQ(crypto[1].tag, 2u);
  EXPECT_EQ(crypto[1].suite, "AES_CM_128_HMAC_SHA1_32");
  EXPECT_EQ(crypto[1].session_params, (std::vector<std::string>{"KDR=1", "UNENCRYPTED_SRTCP"}));
  EXPECT_TRUE(sdp.media[1].crypto().empty());
}

TEST(SdpRfc3264_6, RejectedStreamMayLackConnection) {
  const SessionDescription sdp =
      parse_ok(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n"
                    "m=audio 5000 RTP/AVP 0\nc=IN IP4 192.0.2.1\nm=video 0 RTP/AVP 31\n"));
  EXPECT_EQ(sdp.connection_for(sdp.media[1]), nullptr);
  EXPECT_EQ(sdp.media[1].port, 0);
}

TEST(SdpEdit, RelayRewritesAddressesPortsAndRtcp) {
  SessionDescription sdp = parse_ok(crlf(kSrtpOffer));
  sdp.connection_for(sdp.media[0])->address = "198.51.100.9";
  sdp.media[0].port = 30000;
  sdp.media[0].set_rtcp({30001, "IN", "IP4", "198.51.100.9"});
  sdp.media[1].connections.push_back({"IN", "IP6", "2001:db8::9", {}, {}});
  sdp.media[1].port = 30002;
  sdp.origin.increment_version();
  const std::string out = serialize_sdp(sdp);
  EXPECT_NE(out.find("o=bob 2808844564 2808844566 IN IP4 203.0.113.7\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\nc=IN IP4 198.51.100.9\r\nt=0 0\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\nm=audio 30000 RTP/SAVP 0 101\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\na=rtcp:30001 IN IP4 198.51.100.9\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("a=rtcp:20001"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\nm=video 30002 RTP/SAVP 96\r\nc=IN IP6 2001:db8::9\r\na=inactive\r\n"), std::string::npos)
      << out;
  const SessionDescription again = parse_ok(out);
  EXPECT_EQ(again.media[0].rtcp()->address, "198.51.100.9");
  EXPECT_EQ(serialize_sdp(again), out);
}

TEST(SdpEdit, HoldAndAttributeHelpers) {
  SessionDescription sdp = parse_ok(crlf(kWebRtcOffer));
  SdpMedia& audio = sdp.media[0];
  audio.set_direction(SdpDirection::SendOnly);
  EXPECT_EQ(sdp.direction(audio), SdpDirection::SendOnly);
  EXPECT_EQ(audio.attributes_named("sendrecv").size(), 0u);
  EXPECT_EQ(audio.attributes_named("sendonly").size(), 1u);
  EXPECT_EQ(audio.attributes.back().name, "sendonly");
  EXPECT_EQ(audio.remove_attributes("rtpmap"), 5u);
  EXPECT_EQ(audio.rtpmap(9)->encoding, "G722");  // still the static entry
  EXPECT_FALSE(audio.rtpmap(111));
  audio.set_flag("rtcp-mux");
  EXPECT_EQ(audio.attributes_named("rtcp-mux").size(), 1u);
  audio.add_attribute("fmtp", "111 stereo=1");
  audio.set_attribute("fmtp", "9 x=y");  // replaces the first, drops the others
  EXPECT_EQ(audio.attributes_named("fmtp").size(), 1u);
  EXPECT_EQ(audio.fmtp(9), "x=y");
  EXPECT_NE(serialize_sdp(sdp).find("\r\na=fmtp:9 x=y\r\n"), std::string::npos);
}

TEST(SdpEdit, OriginVersionIncrementCarries) {
  SdpOrigin o;
  o.session_version = "199";
  o.increment_version();
  EXPECT_EQ(o.session_version, "200");
  o.session_version = "99";
  o.increment_version();
  EXPECT_EQ(o.session_version, "100");
}

TEST(SdpEdit, DefaultDescriptionSerializesToValidSdp) {
  SessionDescription sdp;
  sdp.origin.address = "192.0.2.1";
  sdp.connection = SdpConnection{"IN", "IP4", "192.0.2.1", {}, {}};
  SdpMedia m;
  m.media = "audio";
  m.port = 4000;
  m.proto = "RTP/AVP";
  m.formats = {"0"};
  sdp.media.push_back(m);
  const std::string text = serialize_sdp(sdp);
  EXPECT_EQ(text, crlf("v=0\no=- 0 0 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n"));
  EXPECT_EQ(serialize_sdp(parse_ok(text)), text);
}

struct Malformed {
  std::string text;  // LF line ends; the head below is prepended unless it starts with "!"
  std::string error;
};

TEST(SdpMalformed, EachGivesLineAndReason) {
  const std::string head = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n";
  const std::vector<Malformed> cases = {
      {"!", "empty session description"},
      {"!\n\n", "empty session description"},
      {"!o=- 1 1 IN IP4 192.0.2.1\nv=0\n", "line 1: a session description must start with v=0"},
      {"!v=1\n", "line 1: unsupported SDP version '1'"},
      {"!v=0\ns=-\nt=0 0\n", "missing o= line"},
      {"!v=0\no=- 1 1 IN IP4 192.0.2.1\nt=0 0\n", "missing s= line"},
      {"!v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\n", "missing t= line"},
      {"!v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 5000 RTP/AVP 0\n",
       "line 5: m= line has no c= line and there is no session-level c= line"},
      {"m=audio 49170 RTP/AVP 0\nm =video 3227 RTP/AVP 31\n", "line 7: expected '=' right after the type letter"},
      {"hello\n", "line 6: line has no '='"},
      {"x=foo\n", "line 6: unknown line type 'x='"},
      {"A=foo\n", "line 6: bad type letter"},
      {"a=x\n\na=y\n", "line 7: empty line"},
      {"a=x\rb\n", "line 6: stray CR"},
      {std::string("a=x") + '\0' + "\n", "line 6: NUL inside the line"},
      {"v=0\n", "line 6: v= may only be the first line"},
      {"o=- 1 1 IN IP4 192.0.2.1\n", "line 6: second o= line"},
      {"s=again\n", "line 6: second s= line"},
      {"c=IN IP4 192.0.2.2\n", "line 6: second c= line at session level"},
      {"!v=0\no=- 1 1 IN IP4\ns=-\nt=0 0\n", "line 2: o= line needs 6 fields"},
      {"!v=0\no=- x 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n", "line 2: o= line has a bad session id"},
      {"!v=0\no=- 1 1.5 IN IP4 192.0.2.1\ns=-\nt=0 0\n", "line 2: o= line has a bad session version"},
      {"!v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4\nt=0 0\n", "line 4: c= line needs 3 fields"},
      {"!v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 300.1.1.1\nt=0 0\n", "line 4: c= line has a bad address"},
      {"!v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP6 2001:db8::zz\nt=0 0\n", "line 4: c= line has a bad address"},
      {"!v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 224.2.1.1/256\nt=0 0\n", "line 4: c= line has a bad TTL"},
      {"!v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 224.2.1.1/127/0\nt=0 0\n",
       "line 4: c= line has a bad address count"},
      {"!v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP6 ff15::1/1/2\nt=0 0\n", "line 4: c= line has too many '/'"},
      {"b=AS\n", "line 6: b= line has a bad type"},
      {"b=AS:fast\n", "line 6: b= line has a bad bandwidth"},
      {"!v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0\n", "line 4: t= line needs a start and a stop time"},
      {"!v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=now 0\n", "line 4: t= line has a bad start time"},
      {"!v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nr=7d 1h 0\nt=0 0\n", "line 4: r= line before any t= line"},
      {"r=7d 1h\n", "line 6: r= line has bad times"},
      {"r=7w 1h 0\n", "line 6: r= line has bad times"},
      {"z=2882844526\n", "line 6: z= line has bad adjustments"},
      {"z=1 -1h\nz=2 0\n", "line 7: second z= line"},
      {"a=\n", "line 6: a= line has no attribute name"},
      {"a=:x\n", "line 6: a= line has no attribute name"},
      {"a=bad name\n", "line 6: a= line has a bad attribute name"},
      {"m=audio 5000 RTP/AVP\n", "line 6: m= line needs media, port, protocol and formats"},
      {"m=audio port RTP/AVP 0\n", "line 6: m= line has a bad port"},
      {"m=audio 70000 RTP/AVP 0\n", "line 6: m= line has a bad port"},
      {"m=audio -1 RTP/AVP 0\n", "line 6: m= line has a bad port"},
      {"m=audio 5000/0 RTP/AVP 0\n", "line 6: m= line has a bad port count"},
      {"m=audio 5000 RTP//AVP 0\n", "line 6: m= line has a bad protocol"},
      {"m=audio 5000 RTP/AVP 128\n", "line 6: m= line has a bad payload type '128'"},
      {"m=audio 5000 RTP/SAVPF 0 PCMU\n", "line 6: m= line has a bad payload type 'PCMU'"},
      {"m=audio 5000 RTP/AVP 0\ns=-\n", "line 7: s= line is not allowed in a media description"},
      {"m=audio 5000 RTP/AVP 0\nt=0 0\n", "line 7: t= line is not allowed in a media description"},
      {"m=audio 5000 RTP/AVP 0\ni=a\ni=b\n", "line 8: second i= line"},
      {"m=audio 5000 RTP/AVP 0\nc=IN IP4 1.2.3\n", "line 7: c= line has a bad address"},
      {"m=audio 5000 RTP/AVP 0\nq=1\n", "line 7: unknown line type 'q='"},
  };
  for (const Malformed& c : cases) {
    const std::string text = c.text.starts_with('!') ? c.text.substr(1) : head + c.text;
    auto sdp = parse_sdp(text);
    ASSERT_FALSE(sdp.has_value()) << text;
    EXPECT_NE(sdp.error().message.find(c.error), std::string::npos)
        << "input:\n"
        << text << "\nexpected: " << c.error << "\ngot: " << sdp.error().message;
    // The same input with CRLF line ends fails the same way.
    auto crlf_sdp = parse_sdp(crlf(text));
    ASSERT_FALSE(crlf_sdp.has_value()) << text;
    EXPECT_EQ(crlf_sdp.error().message, sdp.error().message);
  }
}

TEST(SdpMalformed, NonRtpFormatsAreTokens) {
  // Only RTP profiles restrict formats to payload types; udptl and MSRP use names.
  const SessionDescription sdp =
      parse_ok(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
                    "m=image 4000 udptl t38\nm=message 2855 TCP/MSRP *\n"));
  EXPECT_FALSE(sdp.media[0].is_rtp());
  EXPECT_EQ(sdp.media[0].formats, (std::vector<std::string>{"t38"}));
  EXPECT_FALSE(sdp.media[0].rtpmap(0));
  EXPECT_EQ(sdp.media[1].formats, (std::vector<std::string>{"*"}));
}

}  // namespace
}  // namespace sipbox::sip
