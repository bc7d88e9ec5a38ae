// A certificate authority made at test time (OpenSSL, EC P-256): a CA, a
// server certificate for localhost/127.0.0.1/::1 and a client certificate
// with a given common name, written as PEM files into a directory. For tests
// only: keys are unprotected and the certificates live one day.
#pragma once

#include <string>

#include "common/result.h"

namespace pgvigil::kube::fake {

struct TestPki {
  std::string caCert, serverCert, serverKey, clientCert, clientKey;  // file paths
};

Result<TestPki> MakeTestPki(const std::string& dir, const std::string& client_common_name);

}  // namespace pgvigil::kube::fake
