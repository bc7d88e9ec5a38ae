#include "controller/kube/testing/test_ca.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <vector>

namespace pgvigil::kube::fake {

namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

Key NewKey() { return Key(EVP_EC_gen("P-256"), EVP_PKEY_free); }

bool AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Cert NewCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, long serial,
             const std::vector<std::pair<int, const char*>>& exts) {
  Cert c(X509_new(), X509_free);
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 24 * 3600);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name);
  for (const auto& [nid, v] : exts)
    if (!AddExt(c.get(), issuer ? issuer : c.get(), nid, v)) return Cert(nullptr, X509_free);
  if (X509_sign(c.get(), issuer_key, EVP_sha256()) == 0) return Cert(nullptr, X509_free);
  return c;
}

bool WriteCert(const std::string& path, X509* c) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  bool ok = PEM_write_X509(f, c) == 1;
  return std::fclose(f) == 0 && ok;
}

bool WriteKey(const std::string& path, EVP_PKEY* k) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  bool ok = PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  return std::fclose(f) == 0 && ok;
}

}  // namespace

Result<TestPki> MakeTestPki(const std::string& dir, const std::string& client_common_name) {
  Key ca_key = NewKey(), server_key = NewKey(), client_key = NewKey();
  if (!ca_key || !server_key || !client_key) return Result<TestPki>::Error("EC key generation failed");
  Cert ca = NewCert(ca_key.get(), "kube-fake test CA", nullptr, ca_key.get(), 1,
                    {{NID_basic_constraints, "critical,CA:TRUE"}, {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"}});
  if (!ca) return Result<TestPki>::Error("CA certificate failed");
  Cert server = NewCert(server_key.get(), "kube-fake", ca.get(), ca_key.get(), 2,
                        {{NID_basic_constraints, "critical,CA:FALSE"},
                         {NID_ext_key_usage, "serverAuth"},
                         {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"}});
  Cert client = NewCert(client_key.get(), client_common_name, ca.get(), ca_key.get(), 3,
                        {{NID_basic_constraints, "critical,CA:FALSE"}, {NID_ext_key_usage, "clientAuth"}});
  if (!server || !client) return Result<TestPki>::Error("leaf certificate failed");
  TestPki p{dir + "/ca.crt", dir + "/server.crt", dir + "/server.key", dir + "/client.crt", dir + "/client.key"};
  if (!WriteCert(p.caCert, ca.get()) || !WriteCert(p.serverCert, server.get()) || !WriteKey(p.serverKey, server_key.get()) ||
      !WriteCert(p.clientCert, client.get()) || !WriteKey(p.clientKey, client_key.get()))
    return Result<TestPki>::Error("writing the PEM files into " + dir + " failed");
  return p;
}

}  // namespace pgvigil::kube::fake
