// A backend's plain messages reach its owner in runs, one call for several
// (plain_run.h), and every message a session looks at (ErrorResponse,
// ReadyForQuery, CopyInResponse, ParseComplete, CloseComplete,
// ParameterStatus) reaches it on its own, in order, however the bytes are
// split over reads. BackendConn on a real loopback connection to a fake
// backend that logs it in with AuthenticationOk and ReadyForQuery.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sidecar/proxy/backend_conn.h"
#include "sidecar/proxy/plain_run.h"
#include "sidecar/proxy/wire_messages.h"

namespace pgvigil::proxy {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Written out here rather than taken from plain_run.h: the types the session
// must see one at a time (ClientSession::OnSpecialFrame).
bool NeedsAttention(char type) { return std::string_view("EZG13S").find(type) != std::string_view::npos; }

// The message types of a stream of whole messages, in order.
std::string Types(std::string_view s) {
  std::string types;
  for (size_t at = 0; at + 5 <= s.size();) {
    types.push_back(s[at]);
    at += 1 + ReadU32(reinterpret_cast<const uint8_t*>(s.data()) + at + 1);
  }
  return types;
}

std::string Message(char type, const std::string& body = "") {
  std::string s;
  AppendMessage(&s, type, body);
  return s;
}

// A backend's answer mixing plain messages with each type that needs
// attention, single plain messages between them, and a row of 300 bytes.
std::string Stream() {
  const std::string types = std::string("2TDDC1") + "2DC3" + "NDS" + "DE" + "ADC" + "Gddc" + "CZ";
  std::string s;
  for (size_t i = 0; i < types.size(); ++i) s += Message(types[i], i == 7 ? std::string(300, 'x') : "ab");
  return s;
}

class Recorder : public BackendOwner {
 public:
  RunTaken answer = RunTaken::kRelayed;  // to every run
  std::string bytes;                       // what was handed over, in order
  std::vector<std::string> calls;          // "F" + type, or "R" + the run's types
  std::string closed;
  bool OnBackendFrame(BackendConn*, const Frame& f) override {
    bytes.append(reinterpret_cast<const char*>(f.body) - 5, f.size);
    calls.push_back(std::string("F") + f.type);
    return true;
  }
  RunTaken OnBackendRun(BackendConn*, const uint8_t* data, size_t n) override {
    std::string_view run(reinterpret_cast<const char*>(data), n);
    calls.push_back("R" + Types(run));
    if (answer != RunTaken::kOneByOne) bytes.append(run);
    return answer;
  }
  void OnBackendReadDone(BackendConn*) override {}
  void OnBackendClosed(BackendConn*, const std::string& reason) override { closed = reason; }
  std::string Calls() const {
    std::string all;
    for (const auto& c : calls) all += (all.empty() ? "" : " ") + c;
    return all;
  }
};

struct FakeBackend {
  asio::io_context io{1};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  tcp::socket peer{io};
  std::shared_ptr<BackendConn> b;
  Recorder owner;

  FakeBackend() {
    BackendLogin login;
    login.host = "127.0.0.1";
    login.port = acceptor.local_endpoint().port();
    login.user = "u";
    login.database = "d";
    b = std::make_shared<BackendConn>(io, login, 0, nullptr, nullptr);
    std::string error = "pending";
    b->Start([&error](const std::string& e, const ErrorFields*) { error = e; });
    acceptor.accept(peer);
    // The startup packet, then the login's end.
    std::vector<char> startup(4096);
    for (int i = 0; i < 200 && peer.available() == 0; ++i) Poll();
    peer.read_some(asio::buffer(startup));
    std::string ok;
    AppendAuthRequest(&ok, 0);
    AppendReadyForQuery(&ok, 'I');
    asio::write(peer, asio::buffer(ok));
    for (int i = 0; i < 200 && error == "pending"; ++i) Poll();
    EXPECT_EQ(error, "");
    b->SetOwner(&owner);
  }
  ~FakeBackend() {
    b->SetOwner(nullptr);
    b->Close("test over");
    Poll();
    b.reset();
  }
  void Poll() {
    io.run_for(std::chrono::milliseconds(1));
    io.restart();
  }
  // Sends s, lets the connection read it, and runs it on until it has handed
  // over `want` bytes in all (or closed).
  void Send(const std::string& s, size_t want) {
    if (!s.empty()) asio::write(peer, asio::buffer(s));
    Poll();
    for (int i = 0; i < 2000 && owner.bytes.size() < want && owner.closed.empty(); ++i) Poll();
  }
};

// Each run handed over: two or more messages, none needing attention.
void ExpectRunsPlain(const Recorder& r) {
  for (const auto& c : r.calls) {
    if (c[0] != 'R') continue;
    EXPECT_GE(c.size(), 3u) << r.Calls();
    for (char t : c.substr(1)) EXPECT_FALSE(NeedsAttention(t)) << "'" << t << "' relayed in a run: " << r.Calls();
  }
}

TEST(PlainRunTest, TypesAreTheBackendsWithoutTheSessionsSix) {
  for (int t = 0; t < 256; ++t) {
    char type = char(t);
    EXPECT_EQ(PlainRelayType(type), IsKnownMessageType(Direction::kBackend, type) && !NeedsAttention(type)) << t;
  }
}

TEST(PlainRunTest, LengthCoversWholePlainMessagesOnly) {
  const std::string s = Stream();
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  // At every start of a message and every cut: the whole plain messages there.
  for (size_t start = 0; start < s.size(); start += 1 + ReadU32(p + start + 1)) {
    for (size_t end = start; end <= s.size(); ++end) {
      size_t want = 0;
      for (size_t at = start; at + 5 <= end;) {
        size_t n = 1 + ReadU32(p + at + 1);
        if (!PlainRelayType(s[at]) || at + n > end) break;
        at += n;
        want = at - start;
      }
      EXPECT_EQ(PlainRunLength(p + start, end - start, kDefaultMaxMessage), want) << start << ".." << end;
    }
  }
  // A length the decoder refuses ends the run before that message.
  std::string bad = Message('D', "abc") + Message('D', "abcdef");
  EXPECT_EQ(PlainRunLength(reinterpret_cast<const uint8_t*>(bad.data()), bad.size(), 8), 8u);
  bad[9] = 3;  // the second's length word below 4
  EXPECT_EQ(PlainRunLength(reinterpret_cast<const uint8_t*>(bad.data()), bad.size(), kDefaultMaxMessage), 8u);
}

TEST(BackendRunTest, OneReadGivesRunsAndEachMessageNeedingAttentionAlone) {
  FakeBackend fb;
  const std::string s = Stream();
  fb.Send(s, s.size());
  EXPECT_EQ(fb.owner.bytes, s);
  EXPECT_EQ(fb.owner.Calls(), "R2TDDC F1 R2DC F3 RND FS FD FE RADC FG RddcC FZ");
  EXPECT_TRUE(fb.owner.closed.empty()) << fb.owner.closed;
}

TEST(BackendRunTest, SplitAtEveryByteEverythingArrivesInOrder) {
  FakeBackend fb;
  const std::string s = Stream();
  size_t total = 0;
  for (size_t cut = 1; cut < s.size(); ++cut) {
    SCOPED_TRACE(cut);
    fb.owner.calls.clear();
    fb.Send(s.substr(0, cut), 0);
    total += s.size();
    fb.Send(s.substr(cut), total);
    ASSERT_EQ(fb.owner.bytes.size(), total);
    EXPECT_EQ(fb.owner.bytes.substr(total - s.size()), s);
    ExpectRunsPlain(fb.owner);
    // Every message needing attention came on its own.
    std::string alone;
    for (const auto& c : fb.owner.calls)
      if (c[0] == 'F' && NeedsAttention(c[1])) alone += c[1];
    EXPECT_EQ(alone, "13SEGZ");
  }
  // One byte per write: whatever the reads join, the same.
  fb.owner.calls.clear();
  for (char c : s) fb.Send(std::string(1, c), 0);
  fb.Send("", total + s.size());
  EXPECT_EQ(fb.owner.bytes.substr(total), s);
  ExpectRunsPlain(fb.owner);
  EXPECT_TRUE(fb.owner.closed.empty()) << fb.owner.closed;
}

TEST(BackendRunTest, RunRefusedComesOneByOneAndIsNotOfferedAgain) {
  FakeBackend fb;
  fb.owner.answer = BackendOwner::RunTaken::kOneByOne;
  const std::string s = Stream();
  fb.Send(s, s.size());
  EXPECT_EQ(fb.owner.bytes, s);
  EXPECT_EQ(fb.owner.Calls(),
            "R2TDDC F2 FT FD FD FC F1 R2DC F2 FD FC F3 RND FN FD FS FD FE RADC FA FD FC FG RddcC Fd Fd Fc FC FZ");
}

TEST(BackendRunTest, PauseAfterARunHoldsTheRestUntilResumed) {
  FakeBackend fb;
  fb.owner.answer = BackendOwner::RunTaken::kRelayedPause;
  const std::string run = Message('D', "r1") + Message('D', "r2") + Message('C', "t");
  const std::string s = run + Message('Z', "I");
  fb.Send(s, run.size());
  for (int i = 0; i < 5; ++i) fb.Poll();
  EXPECT_EQ(fb.owner.Calls(), "RDDC");
  EXPECT_EQ(fb.owner.bytes, run);
  fb.b->ResumeReading();
  EXPECT_EQ(fb.owner.Calls(), "RDDC FZ");
  EXPECT_EQ(fb.owner.bytes, s);
}

TEST(BackendRunTest, MessagesBeforeAProtocolErrorArriveThenTheConnectionCloses) {
  FakeBackend fb;
  const std::string s = Message('D', "r1") + Message('D', "r2") + Message('C', "t");
  fb.Send(s + std::string("\x01\0\0\0\x04", 5), s.size());
  for (int i = 0; i < 200 && fb.owner.closed.empty(); ++i) fb.Poll();
  EXPECT_EQ(fb.owner.bytes, s);
  EXPECT_EQ(fb.owner.Calls(), "RDDC");
  EXPECT_NE(fb.owner.closed.find("protocol error"), std::string::npos) << fb.owner.closed;
}

}  // namespace
}  // namespace pgvigil::proxy
