// kube-fake: the Kubernetes API-server TEST DOUBLE (kube_fake.h) as a
// standalone process for the kube-lab e2e harness. A stand-in, not
// Kubernetes: it proves nothing about the real API server, etcd, the kubelet,
// DNS or kube-proxy. Test-only; never installed.
//
// Serves the double over HTTPS on 127.0.0.1:--port with the CRD and the
// Role/ClusterRole rules of --manifests (the chart's rendered install.yaml),
// writes a service-account-like directory (ca.crt, token, namespace) for the
// in-cluster configuration path, an administrator token for the harness, and
// a shell file of variables; serves the control interface of
// kube_fake_control.h as plain HTTP on 127.0.0.1:--control-port.
// SIGTERM/SIGINT end it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/cli.h"
#include "controller/kube/testing/kube_fake.h"
#include "controller/kube/testing/kube_fake_control.h"

namespace {

using namespace pgvigil;
using namespace pgvigil::kube::fake;

constexpr size_t kMaxRequest = 4 << 20;  // control bodies (manifests) up to 4 MiB

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

const char* kHelp = R"(kube-fake: a STAND-IN for the Kubernetes API server (a test double for the
kube-lab e2e harness; not Kubernetes, not installed). It proves nothing about
the real API server, etcd, the kubelet, DNS or kube-proxy.

usage: kube-fake --dir DIR --manifests FILE [--port N] [--control-port N]
                 [--namespace NS] [--unrestricted-controller] [--request-log FILE]

  --dir DIR          created if missing; gets pki/ (a CA made at start, server
                     certificate), serviceaccount/{ca.crt,token,namespace} (for
                     PGVIGIL_KUBE_SA_DIR), admin-token and env (shell variables:
                     KUBERNETES_SERVICE_HOST/PORT, PGVIGIL_KUBE_SA_DIR, KUBE_FAKE_URL,
                     KUBE_FAKE_CA, KUBE_FAKE_ADMIN_TOKEN, KUBE_FAKE_CONTROL), written
                     last: its presence means the double serves
  --manifests FILE   rendered manifests (manifests/install.yaml): the CRD is
                     served with its schema; the service-account token holds
                     the rules of every Role/ClusterRole in it (no bindings)
  --port N           HTTPS port on 127.0.0.1 (default 0: any free port)
  --control-port N   control HTTP port on 127.0.0.1 (default 0: any free port):
                     GET /healthz; POST /down /up /compact /drop-watches
                     /latency?ms=N /fail?code=429|503&count=N&retry-after=S
                     /hold-pod?namespace=NS&name=POD (a graceful DELETE leaves
                     it Terminating) /release-pod?namespace=NS&name=POD
                     /apply (body: YAML documents, applied as administrator)
  --namespace NS     the service account's namespace (default pgvigil-system)
  --unrestricted-controller  the service-account token may do everything
  --request-log FILE every API request answered, one JSON line each (user,
                     User-Agent, method, path, query, code, reason; a watch
                     when its stream starts) and each control request in its
                     place: the double's audit log, for the harness's checks
)";

std::string RandomHex(size_t bytes) {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::string out;
  static const char* hex = "0123456789abcdef";
  for (size_t i = 0; i < bytes; ++i) {
    unsigned char c = static_cast<unsigned char>(in.get());
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

bool WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!(out << text)) return false;
  }
  return ::chmod(tmp.c_str(), mode) == 0 && ::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<int> ListenLoopback(int port, int* bound) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Result<int>::Error("socket failed");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return Result<int>::Error("cannot listen on 127.0.0.1:" + std::to_string(port));
  }
  *bound = ntohs(a.sin_port);
  return fd;
}

void SendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// One control request per connection (HTTP/1.1, Connection: close). A
// malformed or oversized request gets 400/413 and closes that connection.
void ServeControl(KubeFake* fake, int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string in;
  char buf[65536];
  size_t header_end = std::string::npos, need = 0;
  ControlReply reply;
  bool have_reply = false;
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > kMaxRequest) {
      reply = {413, "request larger than 4 MiB\n"};
      have_reply = true;
      break;
    }
    if (header_end == std::string::npos) {
      header_end = in.find("\r\n\r\n");
      if (header_end == std::string::npos) continue;
      std::string head = in.substr(0, header_end);
      for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t cl = head.find("\r\ncontent-length:");
      need = header_end + 4;
      if (cl != std::string::npos) need += std::strtoul(head.c_str() + cl + 17, nullptr, 10);
      if (need > kMaxRequest) {
        reply = {413, "request larger than 4 MiB\n"};
        have_reply = true;
        break;
      }
    }
    if (in.size() >= need) break;
  }
  if (!have_reply) {
    std::istringstream line(in.substr(0, in.find("\r\n")));
    std::string method, target, version;
    line >> method >> target >> version;
    if (header_end == std::string::npos || in.size() < need || version.rfind("HTTP/", 0) != 0 || target.empty() ||
        target[0] != '/')
      reply = {400, "malformed request\n"};
    else
      reply = HandleControl(fake, method, target, in.substr(header_end + 4, need - header_end - 4));
  }
  std::string out = "HTTP/1.1 " + std::to_string(reply.code) + (reply.code < 300 ? " OK" : " Error") +
                    "\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
                    std::to_string(reply.body.size()) + "\r\n\r\n" + reply.body;
  SendAll(fd, out);
  ::close(fd);
}

int Run(const CommandLine& cl) {
  const std::string dir = cl.Value("--dir"), manifests = cl.Value("--manifests");
  const std::string ns = cl.Value("--namespace", "pgvigil-system");
  const int port = std::atoi(cl.Value("--port", "0").c_str());
  const int control_port = std::atoi(cl.Value("--control-port", "0").c_str());
  const bool unrestricted = cl.Has("--unrestricted-controller");
  const std::string request_log = cl.Value("--request-log");
  if (!cl.Unknown().empty()) {
    std::cerr << "kube-fake: unknown option " << cl.Unknown()[0] << " (see --help)\n";
    return 2;
  }
  if (dir.empty() || manifests.empty()) {
    std::cerr << "kube-fake: --dir and --manifests are required (see --help)\n";
    return 2;
  }
  auto parts = ReadManifests(manifests);
  if (!parts.ok()) {
    std::cerr << "kube-fake: " << parts.error() << "\n";
    return 1;
  }
  const std::string pki = dir + "/pki", sa = dir + "/serviceaccount";
  for (const auto& d : {dir, pki, sa})
    if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) {
      std::cerr << "kube-fake: cannot create " << d << "\n";
      return 1;
    }
  ::unlink((dir + "/env").c_str());
  if (!WriteFile(pki + "/crd.yaml", parts->crdYaml, 0644)) {
    std::cerr << "kube-fake: cannot write " << pki << "/crd.yaml\n";
    return 1;
  }
  FakeOptions o;
  o.crdFile = pki + "/crd.yaml";
  o.pkiDir = pki;
  o.bookmarkInterval = std::chrono::milliseconds(1000);
  o.historyLimit = 5000;
  auto fake = KubeFake::Start(o);
  if (!fake.ok()) {
    std::cerr << "kube-fake: " << fake.error() << "\n";
    return 1;
  }
  if (!request_log.empty()) {
    Status st = (*fake)->SetRequestLog(request_log);
    if (!st.ok()) {
      std::cerr << "kube-fake: " << st.message() << "\n";
      return 1;
    }
  }
  if (port != 0 && (*fake)->port() != port) {
    std::cerr << "kube-fake: asked for port " << port << ", got " << (*fake)->port() << "\n";
  }
  const std::string sa_token = "sa-" + RandomHex(16), admin_token = "admin-" + RandomHex(16);
  const std::string sa_user = "system:serviceaccount:" + ns + ":" + kControllerServiceAccount;
  if (unrestricted) (*fake)->AllowToken(sa_token, std::nullopt, sa_user);
  else (*fake)->AllowToken(sa_token, parts->rules, sa_user);
  (*fake)->AllowToken(admin_token, std::nullopt, "admin");

  int bound = 0;
  auto lfd = ListenLoopback(control_port, &bound);
  if (!lfd.ok()) {
    std::cerr << "kube-fake: control: " << lfd.error() << "\n";
    return 1;
  }
  const std::string ca = ReadFile((*fake)->pki().caCert);
  std::ostringstream env;
  env << "KUBERNETES_SERVICE_HOST=127.0.0.1\nKUBERNETES_SERVICE_PORT=" << (*fake)->port()
      << "\nPGVIGIL_KUBE_SA_DIR=" << sa << "\nKUBE_FAKE_URL=" << (*fake)->url() << "\nKUBE_FAKE_CA=" << sa
      << "/ca.crt\nKUBE_FAKE_ADMIN_TOKEN=" << admin_token << "\nKUBE_FAKE_CONTROL=http://127.0.0.1:" << bound
      << "\n";
  if (!WriteFile(sa + "/ca.crt", ca, 0644) || !WriteFile(sa + "/token", sa_token + "\n", 0644) ||
      !WriteFile(sa + "/namespace", ns, 0644) || !WriteFile(dir + "/admin-token", admin_token + "\n", 0600) ||
      !WriteFile(dir + "/env", env.str(), 0644)) {
    std::cerr << "kube-fake: cannot write into " << dir << "\n";
    return 1;
  }
  std::cout << "kube-fake (a stand-in, not Kubernetes) serving " << (*fake)->url() << ", control http://127.0.0.1:"
            << bound << ", service account " << sa << std::endl;

  struct sigaction act {};
  act.sa_handler = OnSignal;
  ::sigaction(SIGTERM, &act, nullptr);
  ::sigaction(SIGINT, &act, nullptr);
  while (!g_stop) {
    pollfd p{*lfd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int c = ::accept4(*lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c >= 0) ServeControl(fake->get(), c);
  }
  ::close(*lfd);
  std::cout << "kube-fake: stopping" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  pgvigil::CommandLine cl(argc, argv);
  if (cl.Has("--help") || cl.Has("-h")) {
    std::cout << kHelp;
    return 0;
  }
  return Run(cl);
}
