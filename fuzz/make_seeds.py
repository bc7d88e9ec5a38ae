#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ (run from anywhere; the files
are checked in, so run it again only to change the seeds). Each seed is a small,
valid input of the kind the target decodes, built like the byte fixtures of the
unit tests beside each decoder; the fuzzer mutates from there."""
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def b64(raw):
    return base64.b64encode(raw).decode()


# --- PostgreSQL wire protocol (sidecar/proxy/wire_decoder_test.cc) ---------------
def msg(t, body=b""):
    return t.encode() + struct.pack(">I", len(body) + 4) + body


def cstr(s):
    return s.encode() + b"\0"


def startup(**params):
    body = struct.pack(">I", 196608)
    for k, v in params.items():
        body += cstr(k) + cstr(v)
    body += b"\0"
    return struct.pack(">I", len(body) + 4) + body


def wire():
    t = "proxy_wire_fuzz"
    write(t, "startup", startup(user="alice", database="app", application_name="psql"))
    write(t, "ssl_request", struct.pack(">II", 8, 80877103))
    write(t, "gss_request", struct.pack(">II", 8, 80877104))
    write(t, "cancel_request", struct.pack(">IIII", 16, 80877102, 4242, 0x5EED))
    write(t, "startup_then_query",
          startup(user="bob", database="db") + msg("Q", cstr("SELECT 1; BEGIN; INSERT INTO t VALUES (1)")))
    extended = (msg("P", cstr("s1") + cstr("SELECT $1::int") + struct.pack(">HI", 1, 23))
                + msg("B", cstr("p1") + cstr("s1") + struct.pack(">HH", 1, 0) + struct.pack(">H", 1)
                      + struct.pack(">I", 1) + b"7" + struct.pack(">HH", 1, 1))
                + msg("D", b"P" + cstr("p1")) + msg("E", cstr("p1") + struct.pack(">I", 0))
                + msg("C", b"S" + cstr("s1")) + msg("S"))
    write(t, "startup_then_extended", startup(user="a", database="b") + extended)
    sasl_initial = cstr("SCRAM-SHA-256") + struct.pack(">I", 20) + b"n,,n=,r=abcdefghijkl"
    write(t, "startup_then_sasl", startup(user="alice", database="app") + msg("p", sasl_initial))
    # Backend direction: what a server sends after a startup.
    write(t, "backend_login",
          msg("R", struct.pack(">I", 10) + cstr("SCRAM-SHA-256") + b"\0")
          + msg("R", struct.pack(">I", 0))
          + msg("S", cstr("server_version") + cstr("15.10"))
          + msg("K", struct.pack(">II", 99, 12345))
          + msg("Z", b"I"))
    write(t, "backend_md5", msg("R", struct.pack(">I", 5) + b"\x01\x02\x03\x04"))
    write(t, "backend_error",
          msg("E", b"S" + cstr("FATAL") + b"C" + cstr("57P01") + b"M" + cstr("terminating") + b"\0"))
    write(t, "backend_rows",
          msg("T", struct.pack(">H", 1) + cstr("x") + struct.pack(">IHIhih", 0, 0, 23, 4, -1, 0))
          + msg("D", struct.pack(">HI", 1, 1) + b"1") + msg("C", cstr("SELECT 1")) + msg("Z", b"T"))


# --- SCRAM (sidecar/proxy/scram_fuzz.cc reads FIRST '\n' SECOND) -------------------
def scram_keys(password, salt, iterations):
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client = hmac.new(salted, b"Client Key", "sha256").digest()
    stored = hashlib.sha256(client).digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    return stored, server


def verifier(password, salt, iterations):
    stored, server = scram_keys(password, salt, iterations)
    return "SCRAM-SHA-256$%d:%s$%s:%s" % (iterations, b64(salt), b64(stored), b64(server))


def scram():
    t = "proxy_scram_fuzz"
    proof = b64(bytes(range(32)))
    write(t, "server_exchange", "n,,n=alice,r=Qk5vbmNlLWZyb20tY2xpZW50\nc=biws,r=%N,p=" + proof)
    write(t, "server_exchange_y", "y,,n=,r=c2Vjb25kLWNsaWVudC1ub25jZQ\nc=eSws,r=%N,p=" + proof)
    write(t, "server_channel_binding", "p=tls-server-end-point,,n=,r=abc\nc=cD10bHMt,r=%N,p=" + proof)
    write(t, "client_exchange", "r=%NU2VydmVyUGFydA,s=" + b64(b"salt-of-16-bytes") + ",i=16\nv=" + proof)
    write(t, "client_exchange_ext", "r=%Nxyz,s=" + b64(b"0123456789abcdef") + ",i=4,e=unknown\ne=invalid-proof")
    write(t, "verifier", verifier("pencil", b"verifier-salt-16", 16))
    write(t, "md5", "md5" + hashlib.md5(b"secretalice").hexdigest() + "\n\x01\x02\x03\x04")


# --- pool_hba.conf / pool_passwd (sidecar/proxy/auth_test.cc) -----------------------
def hba():
    t = "proxy_hba_fuzz"
    write(t, "first_match_wins",
          "# comment\n"
          "local all all trust\n"
          "hostssl all tls_user 127.0.0.1/32 scram-sha-256\n"
          "host all tls_user 0.0.0.0/0 reject\n"
          "host app,other alice 127.0.0.0 255.0.0.0 md5\n"
          "host all blocked all reject\n"
          "hostnossl all all 10.0.0.0/8 trust\n"
          "host all all ::1/128 scram-sha-256\n"
          "host all all 127.0.0.1/32 scram-sha-256\n")
    write(t, "sameuser_v6_mask",
          "host sameuser all fe80::/10 md5\n"
          "host\tall\tall\t::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\tscram-sha-256\r\n"
          "host all all 0.0.0.0/0 reject  # trailing comment\n")
    write(t, "bad_prefix", "host all all 1.2.3.4/33 md5\n")
    write(t, "bad_method", "\nhost all all 127.0.0.1/32 password\n")


def pool_passwd():
    t = "proxy_pool_passwd_fuzz"
    write(t, "every_entry_kind",
          "mykey\n"
          "alice:AESV7IMV7YNworqqZU1Z46Wgw==\n"
          "bob:md54a0a68b43b6cd5cf266fa02f196e2371\n"
          "carol:" + verifier("s3", b"salt", 16) + "\n"
          "dave:TEXTplain\n"
          "erin:bare\n"
          "# comment\n"
          "broken line\n"
          "frank:AESnot-base64!\n")
    write(t, "no_key", "\nalice:AESV7IMV7YNworqqZU1Z46Wgw==\nbob:md5" + "0" * 32 + "\r\n")
    write(t, "aes_round_trip", "mykey\nV7IMV7YNworqqZU1Z46Wgw==")


# --- watchdog datagrams (sidecar/watchdog/wire_message.h layout) ---------------------
WD_KEY = b"fuzz-heartbeat-key"


def fnv(names):
    h = 2166136261
    for n in names:
        for c in n.encode():
            h = ((h ^ c) * 16777619) & 0xFFFFFFFF
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def wd_body(kind, flags=0, sender=0, seq=(1 << 32) | 7, echo=(2 << 32) | 5, term=3, state=0,
            leader=0, rnd=0, reg_term=3, reg_version=2, doc=b"", health=()):
    b = b"PVW2" + struct.pack(">BBBIQQQBBQQQH", kind, flags, sender, fnv(["a", "b", "c"]), seq, echo,
                              term, state, leader, rnd, reg_term, reg_version, len(doc))
    b += doc + struct.pack(">B", len(health))
    for backend, status in health:
        b += struct.pack(">BB", backend, status)
    return b


def watchdog():
    t = "watchdog_message_fuzz"
    doc = json.dumps({"f": 1, "v": 2, "p": "server1"}).encode()
    leader_hb = wd_body(1, flags=4, sender=0, state=2, leader=0, rnd=41, doc=doc,
                        health=((0, 1), (1, 1), (2, 2)))
    bodies = {
        "heartbeat_leader": leader_hb,
        "heartbeat_standby": wd_body(1, sender=1, state=0, leader=0, health=((0, 1),)),
        "prevote_request": wd_body(2, flags=1, sender=2, state=1, leader=0xFF, term=4),
        "vote_granted": wd_body(3, flags=2 | 4, sender=1, term=4, leader=0xFF, doc=doc),
        "ack": wd_body(4, sender=2, rnd=41),
        "resign": wd_body(5, sender=0, state=3, leader=0xFF),
    }
    for name, body in bodies.items():
        write(t, name + "_body", b"\x01" + body)  # the target appends the MAC
    mac = hmac.new(WD_KEY, leader_hb, "sha256").digest()
    write(t, "heartbeat_leader_datagram", b"\x00" + leader_hb + mac)
    write(t, "bad_mac_datagram", b"\x00" + leader_hb + bytes(32))


# --- cluster spec (manifests/examples, common/spec_parser_test.cc) -------------------
def spec():
    t = "spec_fuzz"
    for f in ("cluster.yaml", "lab.yaml"):
        with open(os.path.join(ROOT, "manifests", "examples", f), "rb") as src:
            write(t, f, src.read())
    write(t, "minimal.yaml",
          "apiVersion: pgvigil.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: demo\n"
          "spec:\n  nodes:\n    - name: a\n      host: 127.0.0.1\n    - name: b\n      host: 127.0.0.2\n"
          "    - {name: c, host: 127.0.0.3, port: 5433}\n")
    write(t, "minimal.json", json.dumps({
        "apiVersion": "pgvigil.io/v1alpha1", "kind": "PostgresCluster", "metadata": {"name": "j"},
        "spec": {"nodes": [{"name": "a", "host": "::1"}, {"name": "b", "host": "localhost"}]}}))
    write(t, "errors.yaml", "apiVersion: v2\nkind: Other\nmetadata: {}\nspec:\n  nodes: [1, {port: x}]\n  bogus: 1\n")


# --- node agent request bodies (sidecar/agent/rest_body_fuzz.cc: selector byte) ------
def rest_bodies():
    t = "agent_rest_body_fuzz"
    ops = ["promote", "stop", "start", "restart", "follow", "rebuild"]
    bodies = {
        "promote": {"term": 3},
        "stop": {"term": "3", "mode": "immediate", "fenced": True},
        "start": {"term": 18446744073709551615},
        "restart": {"term": 4, "mode": "fast"},
        "follow": {"term": 5, "primary": "server2", "slot": "server1_slot", "fenced": False},
        "rebuild": {"term": 6, "primary": "server3", "method": "rewind", "maxRate": "64MB"},
    }
    for i, op in enumerate(ops):
        write(t, "op_" + op, bytes([i]) + json.dumps(bodies[op]).encode())
    write(t, "term", bytes([6]) + b'{"term": "12"}')
    routing = {"term": 7, "generation": 12, "primary": "server1", "nodes": [
        {"name": "server1", "host": "127.0.0.1", "port": 5432, "weight": 1, "up": True},
        {"name": "server2", "host": "127.0.0.2", "port": 5433, "weight": 0, "up": False}]}
    write(t, "routing", bytes([7]) + json.dumps(routing).encode())
    write(t, "register", bytes([8]) + json.dumps(
        {"term": 7, "doc": {"f": 1, "v": 9, "p": "server1"}, "timeoutMs": 5000}).encode())
    write(t, "not_json", bytes([1]) + b'{"term": 3,')


# --- the cluster-state document (common/cluster_state_doc.h; fuzzed through the ---
# --- controller's strict reader, controller/act/state_codec_fuzz.cc) ---------------
STATE_DOC = os.path.join(ROOT, "common", "cluster_state_doc.h")


def state_doc_keys():
    """The keys of the document as its contract, common/cluster_state_doc.h,
    describes them in its header comment (from the line that opens it with
    '{"f"' to the '// null:' line), and its format marker kClusterStateFormat:
    the seeds follow that file, and a key it gains without a seed stops the run."""
    with open(STATE_DOC) as f:
        text = f.read()
    start = text.index('// {"f"')
    block = text[start:text.index("// null:", start)]
    fmt = re.search(r"kClusterStateFormat = (\d+);", text)
    if not fmt:
        raise SystemExit(STATE_DOC + ": no kClusterStateFormat")
    return set(re.findall(r'"([a-z]+)":', block)), int(fmt.group(1))


def controller_state():
    t = "controller_state_fuzz"
    keys, fmt = state_doc_keys()
    full = {
        "f": fmt, "v": 42, "p": "server1", "tl": 3, "rg": 17, "rp": "server1",
        "rs": ["server2", "server3"], "rw": [1, 2], "ss": ["server2"], "sc": 1, "sl": 50331648,
        "fe": ["server3"], "de": [], "bo": 1700000000000,
        "tr": {"k": 1, "fr": "server1", "to": "server2", "st": 2, "at": 1700000000000, "sl": 1234}}
    seeded = set(full) | set(full["tr"])
    if keys != seeded:
        raise SystemExit("%s and the controller_state_fuzz seed disagree: keys only in the header %s, "
                         "only in the seed %s" % (STATE_DOC, sorted(keys - seeded), sorted(seeded - keys)))
    write(t, "full", json.dumps(full))
    write(t, "minimal", json.dumps({"f": fmt}))
    write(t, "null", "null")
    write(t, "other_format", json.dumps({"f": fmt + 1, "v": 1}))
    # Numbers that are not integers of the field's type (undefined behaviour once).
    write(t, "huge_numbers", '{"f": %d, "v": 1e300, "bo": -1.5e300, "rw": [1e100]}' % fmt)
    write(t, "transition_none", json.dumps({"f": fmt, "tr": {"k": 0, "to": "server2", "st": 2}}))


if __name__ == "__main__":
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    for make in (wire, scram, hba, pool_passwd, watchdog, spec, rest_bodies, controller_state):
        make()
    for d in sorted(os.listdir(CORPUS)):
        print(d, len(os.listdir(os.path.join(CORPUS, d))), "seeds")
