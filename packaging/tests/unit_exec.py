#!/usr/bin/env python3
"""Prints, as bash assignments, how systemd would start a unit's service: the
ExecStart argv after Environment=/EnvironmentFile= expansion, and the User, Group,
ambient and bounding capabilities and NoNewPrivileges it asks for. The packaged-lab
e2e starts the lab's hosts from these, so the command lines are the unit files'.

  unit_exec.py UNIT [--map /etc/pgvigil=HOSTDIR/etc/pgvigil ...]

--map PREFIX=DIR reads files under PREFIX (EnvironmentFile=) from DIR instead.
Handles what pgvigil's units use: one ExecStart, quoting, ${VAR} inside a word,
$VAR as a word (split on whitespace), '-' before an optional EnvironmentFile.
"""
import shlex
import sys


def parse_unit(path):
    service = {}
    section = None
    with open(path) as f:
        text = f.read().replace("\\\n", " ")
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section != "Service" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        service.setdefault(key.strip(), []).append(value.strip())
    return service


def read_env_file(path):
    env = {}
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;" or "=" not in line:
                continue
            key, value = line.split("=", 1)
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            env[key.strip()] = value
    return env


def expand(words, env):
    out = []
    for w in words:
        if w.startswith("$") and not w.startswith("${") and w[1:].replace("_", "a").isalnum():
            out.extend(env.get(w[1:], "").split())  # $VAR: split, none when empty
            continue
        result, i = "", 0
        while i < len(w):
            if w.startswith("${", i) and "}" in w[i:]:
                end = w.index("}", i)
                result += env.get(w[i + 2:end], "")
                i = end + 1
            else:
                result += w[i]
                i += 1
        out.append(result)
    return out


def caps(values):
    names = []
    for v in values:
        if not v:  # an empty assignment resets the list
            names = []
            continue
        names.extend(c.lower().replace("cap_", "") for c in v.split())
    return ",".join(names)


def main(argv):
    unit = argv[1]
    maps = []
    args = argv[2:]
    while args:
        if args[0] == "--map" and len(args) > 1:
            prefix, target = args[1].split("=", 1)
            maps.append((prefix.rstrip("/"), target.rstrip("/")))
            args = args[2:]
        else:
            sys.exit("unit_exec.py: unknown argument " + args[0])

    def mapped(path):
        for prefix, target in maps:
            if path == prefix or path.startswith(prefix + "/"):
                return target + path[len(prefix):]
        return path

    s = parse_unit(unit)
    env = {}
    for assignment in s.get("Environment", []):
        for item in shlex.split(assignment):
            k, v = item.split("=", 1)
            env[k] = v
    for ef in s.get("EnvironmentFile", []):
        optional = ef.startswith("-")
        path = mapped(ef.lstrip("-"))
        try:
            env.update(read_env_file(path))
        except FileNotFoundError:
            if not optional:
                sys.exit("unit_exec.py: EnvironmentFile %s (read as %s) is missing" % (ef, path))
    if len(s.get("ExecStart", [])) != 1:
        sys.exit("unit_exec.py: %s must have exactly one ExecStart" % unit)
    exec_start = s["ExecStart"][0].lstrip("-@+!:")
    argv_out = expand(shlex.split(exec_start), env)
    print("UNIT_EXEC=(%s)" % " ".join(shlex.quote(a) for a in argv_out))
    print("UNIT_USER=%s" % shlex.quote(s.get("User", ["root"])[-1]))
    print("UNIT_GROUP=%s" % shlex.quote(s.get("Group", s.get("User", ["root"]))[-1]))
    print("UNIT_AMBIENT_CAPS=%s" % shlex.quote(caps(s.get("AmbientCapabilities", []))))
    print("UNIT_BOUNDING_CAPS=%s" % shlex.quote(caps(s.get("CapabilityBoundingSet", []))))
    nnp = s.get("NoNewPrivileges", ["no"])[-1].lower() in ("yes", "true", "1", "on")
    print("UNIT_NO_NEW_PRIVS=%s" % ("yes" if nnp else "no"))
    print("UNIT_KILL_MODE=%s" % shlex.quote(s.get("KillMode", ["control-group"])[-1]))


if __name__ == "__main__":
    main(sys.argv)
