#include "common/spec.h"

#include "common/spec_parser.h"

namespace pgvigil {

std::string VipSpec::ip() const {
  auto slash = address.find('/');
  return slash == std::string::npos ? address : address.substr(0, slash);
}

int VipSpec::prefix() const {
  auto slash = address.find('/');
  if (slash == std::string::npos) return 32;
  try {
    return std::stoi(address.substr(slash + 1));
  } catch (...) {
    return 32;
  }
}

static void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s->find(from, pos)) != std::string::npos; pos += to.size())
    s->replace(pos, from.size(), to);
}

std::string VipSpec::Expand(const std::string& command) const {
  std::string out = command;
  ReplaceAll(&out, "$_IP_$", ip());
  ReplaceAll(&out, "$_PREFIX_$", std::to_string(prefix()));
  ReplaceAll(&out, "$_IFACE_$", interface);
  return out;
}

const NodeSpec* ClusterSpec::FindNode(const std::string& node_name) const {
  for (const auto& n : nodes)
    if (n.name == node_name) return &n;
  return nullptr;
}

bool operator==(const ClusterSpec& a, const ClusterSpec& b) {
  // The canonical serialisation holds every field, so equal text means equal specs.
  return SpecToJson(a) == SpecToJson(b);
}

const char* ToString(RecoveryMethod m) {
  return m == RecoveryMethod::kBasebackup ? "basebackup" : "rewind-or-basebackup";
}

const char* ToString(ReplicationMode m) { return m == ReplicationMode::kSync ? "sync" : "async"; }

const char* ToString(DisableOnWrite m) {
  switch (m) {
    case DisableOnWrite::kAlways: return "always";
    case DisableOnWrite::kOff: return "off";
    default: return "transaction";
  }
}

const char* ToString(PoolMode m) { return m == PoolMode::kTransaction ? "transaction" : "session"; }

const char* ToString(SessionStatePolicy p) { return p == SessionStatePolicy::kPin ? "pin" : "refuse"; }

}  // namespace pgvigil
