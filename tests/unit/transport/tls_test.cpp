// TLS: the first-start self-signed pair (files, mode, contents), then a handshake and a
// round trip with a client Transport that trusts only that certificate, on 127.0.0.1
// and ::1; a client that does not speak TLS counts as a handshake failure.
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/unit/temp_dir.h"
#include "transport_fixture.h"

namespace sipbox::transport::test {
namespace {

namespace fs = std::filesystem;
using sipbox::test_support::TempDir;


std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SelfSigned, CreatesKeyWithMode0600AndCertificateForTheHostname) {
  TempDir dir;
  const auto cert = dir.file("tls.crt"), key = dir.file("tls.key");
  ASSERT_TRUE(ensure_self_signed(cert, key, "sip.example.com"));
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  FILE* file = std::fopen(cert.c_str(), "r");
  ASSERT_NE(file, nullptr);
  X509* x = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  ASSERT_NE(x, nullptr);
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "sip.example.com");
  EXPECT_EQ(X509_check_host(x, "sip.example.com", 0, 0, nullptr), 1);  // SAN
  // Self-signed: issuer = subject, and its own key verifies the signature.
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(x)), 0);
  EXPECT_EQ(X509_verify(x, X509_get0_pubkey(x)), 1);
  // About ten years of validity.
  int days = 0, seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
  EXPECT_GE(days, 3649);
  EVP_PKEY* pub = X509_get0_pubkey(x);
  EXPECT_EQ(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(pub), 256);
  X509_free(x);

  // Present files are kept as they are.
  const std::string before = read_all(cert);
  ASSERT_TRUE(ensure_self_signed(cert, key, "other.example.com"));
  EXPECT_EQ(read_all(cert), before);
}

TEST(SelfSigned, UnwritableDirectoryIsAnError) {
  auto made = ensure_self_signed("/nonexistent-dir/tls.crt", "/nonexistent-dir/tls.key", "localhost");
  ASSERT_FALSE(made);
  EXPECT_NE(made.error().message.find("/nonexistent-dir/tls.key"), std::string::npos);
}

class TlsTest : public TransportTest, public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override { ASSERT_TRUE(ensure_self_signed(dir_.file("tls.crt"), dir_.file("tls.key"), "localhost")); }
  Settings server_settings() const {
    Settings s;
    s.tls_cert_file = dir_.file("tls.crt");
    s.tls_key_file = dir_.file("tls.key");
    return s;
  }
  TempDir dir_;
};

TEST_P(TlsTest, HandshakeAndRoundTripWithATrustingClient) {
  std::vector<Received> at_server, at_client;
  auto server = recording(at_server, server_settings(), [](Transport& t, const Received& r) {
    ASSERT_TRUE(t.send(r.source.reply_destination(), "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
  });
  auto id = server->listen(TransportKind::Tls, GetParam(), 0);
  ASSERT_TRUE(id) << id.error().message;
  const Endpoint at = *server->local_endpoint(*id);

  Settings client_settings;
  client_settings.tls_ca_file = dir_.file("tls.crt");  // verify_peer against this one certificate
  auto client = recording(at_client, client_settings);
  const Destination to{at.address.to_string(), at.port, TransportKind::Tls};
  ASSERT_TRUE(client->send(to, sip_request(1)));
  ASSERT_TRUE(client->send(to, sip_request(2)));
  ASSERT_TRUE(run_until([&] { return at_client.size() == 2; }));
  ASSERT_EQ(at_server.size(), 2u);
  EXPECT_EQ(at_server[0].bytes, sip_request(1));
  EXPECT_EQ(at_server[0].source.kind, TransportKind::Tls);
  EXPECT_EQ(at_client[0].bytes, "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(client->counters().connections_opened, 1u);
  EXPECT_EQ(server->counters().tls_handshake_failures, 0u);
  EXPECT_EQ(server->counters().of(TransportKind::Tls).messages_received, 2u);
}

TEST_P(TlsTest, ClientThatDistrustsTheCertificateFailsTheHandshake) {
  std::vector<Received> at_server, at_client;
  auto server = recording(at_server, server_settings());
  auto id = server->listen(TransportKind::Tls, GetParam(), 0);
  ASSERT_TRUE(id);
  const Endpoint at = *server->local_endpoint(*id);
  TempDir other;
  ASSERT_TRUE(ensure_self_signed(other.file("ca.crt"), other.file("ca.key"), "localhost"));
  Settings client_settings;
  client_settings.tls_ca_file = other.file("ca.crt");
  auto client = recording(at_client, client_settings);
  ASSERT_TRUE(client->send({at.address.to_string(), at.port, TransportKind::Tls}, sip_request(1)));
  ASSERT_TRUE(run_until([&] { return client->counters().tls_handshake_failures == 1; }));
  EXPECT_TRUE(at_server.empty());
  ASSERT_TRUE(run_until([&] { return client->connection_count() == 0; }));
}

TEST_P(TlsTest, PlainTextOnTheTlsPortIsAHandshakeFailure) {
  std::vector<Received> at_server;
  auto server = recording(at_server, server_settings());
  auto id = server->listen(TransportKind::Tls, GetParam(), 0);
  ASSERT_TRUE(id);
  const Endpoint at = *server->local_endpoint(*id);
  boost::asio::io_context client_io;
  boost::asio::ip::tcp::socket s(client_io);
  s.connect({at.address, at.port});
  boost::asio::write(s, boost::asio::buffer(sip_request(1)));
  ASSERT_TRUE(run_until([&] { return server->counters().tls_handshake_failures == 1; }));
  EXPECT_TRUE(at_server.empty());
  EXPECT_EQ(server->connection_count(), 0u);
}

TEST(TlsListen, MissingCertificateIsAnError) {
  boost::asio::io_context io;
  Transport t(io, {}, nullptr);
  auto id = t.listen(TransportKind::Tls, "127.0.0.1", 0);
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().message.find("certificate"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Loopback, TlsTest, ::testing::Values("127.0.0.1", "::1"));

}  // namespace
}  // namespace sipbox::transport::test
