// ensure_self_signed(): a first-start certificate so that TLS works out of the box
// (DESIGN.md 4); an operator replaces it with a real one through the configuration.
// OpenSSL 3 EVP and X509 APIs, RAII wrappers, errors as values.
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "transport/transport.h"

namespace sipbox::transport {
namespace {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using FilePtr = std::unique_ptr<FILE, Deleter<std::fclose>>;

// Opens `path` for writing with `mode` from the start (no window where a key file is
// readable by others), truncating an existing file.
FilePtr open_private(const std::string& path, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return nullptr;
  ::fchmod(fd, mode);  // O_CREAT's mode is filtered by the umask; this one is not
  FILE* file = ::fdopen(fd, "w");
  if (!file) ::close(fd);
  return FilePtr(file);
}

Status add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return fail("cannot add certificate extension " + value);
  return {};
}

}  // namespace

Status ensure_self_signed(const std::string& cert_path, const std::string& key_path, const std::string& hostname) {
  std::error_code ec;
  if (std::filesystem::exists(cert_path, ec) && std::filesystem::exists(key_path, ec)) return {};
  if (hostname.empty()) return fail("a self-signed certificate needs a hostname");

  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return fail("cannot generate an EC P-256 key");
  CertPtr cert(X509_new());
  if (!cert) return fail("out of memory creating a certificate");
  X509_set_version(cert.get(), 2);  // v3, for the SAN extension
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return fail("no randomness for the certificate serial");
  serial[0] &= 0x7f;  // RFC 5280 4.1.2.2: a positive integer
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()))) {
    BN_free(bn);
    return fail("cannot set the certificate serial");
  }
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate clocks a little behind
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(hostname.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);

  // RFC 5922 7.1: SIP domains are matched against the SAN; an IP literal goes in as IP.
  boost::system::error_code ip_error;
  boost::asio::ip::make_address(hostname, ip_error);
  const std::string san = (ip_error ? "DNS:" : "IP:") + hostname;
  for (auto status : {add_extension(cert.get(), NID_subject_alt_name, san),
                      add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE"),
                      add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment"),
                      add_extension(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth")}) {
    if (!status) return status;
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return fail("cannot sign the certificate");

  {
    FilePtr file = open_private(key_path, 0600);
    if (!file) return fail("cannot write " + key_path);
    if (PEM_write_PrivateKey(file.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      return fail("cannot write the key to " + key_path);
    }
  }
  FilePtr file = open_private(cert_path, 0644);
  if (!file) return fail("cannot write " + cert_path);
  if (PEM_write_X509(file.get(), cert.get()) != 1) return fail("cannot write the certificate to " + cert_path);
  if (std::fflush(file.get()) != 0) return fail("cannot write " + cert_path);
  return {};
}

}  // namespace sipbox::transport
