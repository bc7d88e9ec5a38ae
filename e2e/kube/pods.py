# e2e/kube/pods.py: the kube-lab's kubelet stand-in, pod side. A pod of
# kube-fake (the API-server test double) runs on lab host i (its ordinal):
# its volumes become directories under the pod's root, bind-mounted at the
# container's mount paths inside `ip netns exec NS-serverI` (which gives the
# process its own mount namespace and the namespace's /etc/netns hosts file);
# the container's command and env come from the pod spec, run as the postgres
# user; the readiness probe's result goes into the pod's status. NOT a kubelet:
# no images, cgroups, restart back-off or probes other than readiness.
#
# A container's processes: its main process, everything descended from it, and
# everything in its mount namespace (`ip netns exec` gives each container start
# one; a process whose parent died is reparented to init but stays in it). When
# the main process exits, or the pod stops, the rest are killed (SIGKILL), as a
# runtime does when a container's pid namespace ends.
#   python3 pods.py kill-container PID   crashes the container whose main
#   process is PID: SIGKILL to all its processes at once (crash_e2e.sh); prints
#   "killed N process(es) of the container (NS) at EPOCH_MS: PIDS".
import base64
import os
import pwd
import shlex
import signal
import subprocess
import sys
import time
import urllib.request

import kubeapi


def expand(arg, env):
    """Kubernetes' $(VAR) expansion in command and args ($$ escapes)."""
    out, i = [], 0
    while i < len(arg):
        if arg.startswith("$$", i):
            out.append("$")
            i += 2
        elif arg.startswith("$(", i) and ")" in arg[i:]:
            j = arg.index(")", i)
            name = arg[i + 2:j]
            out.append(env.get(name, arg[i:j + 1]))
            i = j + 1
        else:
            out.append(arg[i])
            i += 1
    return "".join(out)


def mount_ns(pid):
    try:
        return os.readlink("/proc/%d/ns/mnt" % pid)
    except OSError:
        return None


def proc_table():
    """pid -> (ppid, state) of every process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rfind(")") + 2:].split()
        if len(rest) >= 2:
            out[int(d)] = (int(rest[1]), rest[0])
    return out


def container_ns(pid):
    """The mount namespace of a container's main process, or None while it has
    none of its own yet (still the kubelet's or the host's): a shared one would
    name processes that are not the pod's."""
    ns = mount_ns(pid)
    return ns if ns not in (None, mount_ns(os.getpid()), mount_ns(1)) else None


def hold_ns(pid, ns):
    """An open descriptor on pid's mount namespace, if it is still `ns`; None
    otherwise. While it is open the namespace cannot be freed, so its inode
    number, which container_processes compares, is not given to a new
    namespace: every `ip netns exec` makes one, and another lab's process in a
    reused number would be killed as the container's (seen: a concurrent
    test's initdb killed)."""
    if ns is None:
        return None
    try:
        fd = os.open("/proc/%d/ns/mnt" % pid, os.O_RDONLY)
    except OSError:
        return None
    if os.readlink("/proc/self/fd/%d" % fd) != ns:
        os.close(fd)
        return None
    return fd


def release_ns(fd):
    if fd is not None:
        os.close(fd)


def container_processes(root, ns):
    """Live (not zombie) processes of the container: root, its descendants, and
    every process in mount namespace `ns` (None: descendants only)."""
    table = proc_table()
    found = {root} if root in table else set()
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _) in table.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    if ns is not None and ns not in (mount_ns(os.getpid()), mount_ns(1)):
        found |= {pid for pid in table if mount_ns(pid) == ns}
    found.discard(os.getpid())
    return sorted(p for p in found if table.get(p, (0, "Z"))[1] not in "ZX")


def kill_container(root, ns, attempts=100):
    """SIGKILL to every process of the container, again until none is left
    (one forking meanwhile); returns the pids killed and when the first round
    of SIGKILLs had been sent to all of them (epoch ms, 0 if none): nothing of
    the container runs after that."""
    killed, first_ms = [], 0
    for _ in range(attempts):
        pids = container_processes(root, ns)
        if not pids:
            break
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
                if p not in killed:
                    killed.append(p)
            except OSError:
                pass
        first_ms = first_ms or int(time.time() * 1000)
        time.sleep(0.02)
    return killed, first_ms


class Pod:
    def __init__(self, lab, pod):
        self.lab = lab
        self.name = pod["metadata"]["name"]
        self.uid = pod["metadata"]["uid"]
        self.spec = pod["spec"]
        self.index = kubeapi.ordinal(self.name)
        self.host = "server%d" % (self.index + 1)
        self.addr = lab.addr(self.index)
        self.root = os.path.join(lab.dir, "pods", self.name + "-" + self.uid[:8])
        self.proc = None
        self.reaped = False  # kill_rest done for self.proc (its pid may belong to another process now)
        self.ns = None  # the running container's mount namespace
        self.ns_fd = None  # held open while the container runs (hold_ns)
        self.restarts = 0
        self.ready = None
        self.fails = 0
        self.next_probe = 0.0
        self.started_at = 0.0

    # ---- volumes ----
    def volume_dirs(self, restart=False):
        """volume name -> host directory (created and filled). On a container
        restart, ConfigMap and Secret files are refreshed from the API server
        when it answers, and kept as they are when it does not: a kubelet
        restarts containers without the API server."""
        pw = pwd.getpwnam("postgres")
        dirs = {}
        for v in self.spec.get("volumes", []):
            name = v["name"]
            if "persistentVolumeClaim" in v:
                d = os.path.join(self.lab.dir, "pvc", v["persistentVolumeClaim"]["claimName"])
            else:
                d = os.path.join(self.root, "vol", name)
            os.makedirs(d, exist_ok=True)
            if "projected" in v:
                self.fill_projected(d, v["projected"], pw, restart)
            elif "configMap" in v or "secret" in v:
                self.fill_projected(d, {"sources": [v], "defaultMode": v.get("defaultMode", 0o644)}, pw, restart)
            else:  # emptyDir (kept per pod uid) or a claim (kept per PVC name)
                os.chown(d, pw.pw_uid, pw.pw_gid)
                os.chmod(d, 0o1777 if name in ("tmp", "shm") else 0o700)
            dirs[name] = d
        return dirs

    def fill_projected(self, d, proj, pw, restart=False):
        default_mode = proj.get("defaultMode", 0o644)
        for src in proj.get("sources", []):
            if "configMap" in src:
                ref, plural, decode = src["configMap"], "configmaps", False
            elif "secret" in src:
                ref, plural, decode = src["secret"], "secrets", True
            else:
                continue
            try:
                obj = self.lab.api.get(self.lab.ns, plural, ref["name"])
            except kubeapi.Unavailable:
                if not restart:
                    raise
                self.lab.log("%s: API server unavailable: %s %s kept as written at the last start" %
                             (self.name, plural, ref["name"]))
                continue
            if obj is None:
                raise RuntimeError("%s %s/%s not found" % (plural, self.lab.ns, ref["name"]))
            data = obj.get("data", {})
            items = ref.get("items") or [{"key": k, "path": k} for k in data]
            for it in items:
                if it["key"] not in data:
                    raise RuntimeError("%s %s has no key %s" % (plural, ref["name"], it["key"]))
                value = data[it["key"]]
                raw = base64.b64decode(value) if decode else value.encode()
                path = os.path.join(d, it["path"])
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(raw)
                os.chown(path, pw.pw_uid, pw.pw_gid)
                os.chmod(path, it.get("mode", ref.get("defaultMode", default_mode)))
        for parent, subdirs, _ in os.walk(d):
            for s in subdirs:
                os.chown(os.path.join(parent, s), pw.pw_uid, pw.pw_gid)
                os.chmod(os.path.join(parent, s), 0o755)

    # ---- process ----
    def env(self, c, pod):
        env = {"PATH": "/usr/local/bin:/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOME": "/var/lib/postgresql", "LC_ALL": "C"}
        fields = {"metadata.name": self.name, "metadata.namespace": self.lab.ns, "status.podIP": self.addr,
                  "spec.nodeName": self.host, "metadata.uid": self.uid}
        for e in c.get("env", []):
            if "value" in e:
                env[e["name"]] = expand(e["value"], env)
            elif "fieldRef" in e.get("valueFrom", {}):
                env[e["name"]] = fields.get(e["valueFrom"]["fieldRef"]["fieldPath"], "")
        return env

    def start(self, pod):
        c = self.spec["containers"][0]
        dirs = self.volume_dirs(restart=pod is None)
        env = self.env(c, pod)
        argv = [expand(a, env) for a in c.get("command", []) + c.get("args", [])]
        # The image's binaries: --bin-dir at /usr/local/bin (it may lie under a
        # mount point such as /tmp, so it is mounted first).
        mounts = ["mount --bind %s /usr/local/bin" % shlex.quote(self.lab.bin_dir),
                  "mount -o remount,bind,ro /usr/local/bin"]
        # A mount point above the sources (/tmp above the lab dir) would hide
        # them: such mounts go last.
        order = sorted(c.get("volumeMounts", []),
                       key=lambda m: (self.lab.dir + "/").startswith(m["mountPath"].rstrip("/") + "/"))
        for m in order:
            target = m["mountPath"]
            if not os.path.isdir(target):
                # The mount point (empty) on the host's file system, recorded so
                # that the lab's cleanup can remove it (rmdir, only while empty).
                os.makedirs(target)
                with open(os.path.join(self.lab.dir, "mountpoints"), "a") as f:
                    f.write(target + "\n")
            mounts.append("mount --bind %s %s" % (shlex.quote(dirs[m["name"]]), shlex.quote(target)))
            if m.get("readOnly"):
                mounts.append("mount -o remount,bind,ro %s" % shlex.quote(target))
        script = " && ".join(mounts + ["cd /", 'exec setpriv --reuid=postgres --regid=postgres --init-groups '
                                       'env -i "$@"'])
        envs = ["%s=%s" % kv for kv in sorted(env.items())]
        cmd = ["ip", "netns", "exec", "%s-%s" % (self.lab.lab_ns, self.host), "sh", "-c", script, "pod"] + envs + argv
        os.makedirs(self.root, exist_ok=True)
        log = open(os.path.join(self.lab.dir, "logs", "%s.log" % self.name), "ab")
        log.write(("---- kubelet: starting %s (uid %s) on %s: %s\n" % (self.name, self.uid, self.host,
                                                                        " ".join(argv))).encode())
        log.flush()
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.reaped = False
        log.close()
        self.started_at = time.time()
        # `ip netns exec` unshares its mount namespace at once, then execs.
        self.ns = None
        for _ in range(100):
            self.ns = container_ns(self.proc.pid)
            if self.ns or self.proc.poll() is not None:
                break
            time.sleep(0.01)
        release_ns(self.ns_fd)
        self.ns_fd = hold_ns(self.proc.pid, self.ns)
        if self.ns_fd is None:
            self.ns = None  # gone already, or not held: descendants only
        with open(os.path.join(self.lab.lab_dir, "pids", "kube-pod-%s.pid" % self.name), "w") as f:
            f.write("%d\n" % self.proc.pid)
        self.lab.log("started %s (uid %s) on %s as pid %d" % (self.name, self.uid, self.host, self.proc.pid))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace):
        if self.proc is None:
            return
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.lab.log("%s: still running after %d s, SIGKILL" % (self.name, grace))
        self.kill_rest()
        self.lab.log("stopped %s (uid %s), exit %s" % (self.name, self.uid, self.proc.returncode))
        self.proc = None

    def kill_rest(self):
        """The container's processes end with it: whatever its main process
        left running (PostgreSQL of a killed sidecar) is killed like the runtime
        would, and the main process reaped. Once only per container start:
        after the reaping its pid is free for any process."""
        if self.reaped:
            return
        killed, _ = kill_container(self.proc.pid, self.ns)
        self.proc.wait()
        self.reaped = True
        release_ns(self.ns_fd)
        self.ns_fd = None
        self.ns = None
        if killed:
            self.lab.log("%s: killed %d process(es) left in the container: %s" %
                         (self.name, len(killed), " ".join(map(str, killed))))

    # ---- readiness ----
    def probe(self):
        """Runs the readiness probe when due; True when the Ready state changed."""
        now = time.time()
        if now < self.next_probe:
            return False
        c = self.spec["containers"][0]
        p = c.get("readinessProbe", {})
        self.next_probe = now + p.get("periodSeconds", 10)
        ok = False
        if self.alive() and "httpGet" in p:
            port = p["httpGet"]["port"]
            if not str(port).isdigit():
                port = next((x["containerPort"] for x in c.get("ports", []) if x.get("name") == port), 0)
            url = "%s://%s:%s%s" % (p["httpGet"].get("scheme", "HTTP").lower(), self.addr, port, p["httpGet"]["path"])
            try:
                with urllib.request.urlopen(url, timeout=p.get("timeoutSeconds", 1)) as r:
                    ok = 200 <= r.status < 400
            except OSError:
                ok = False
        if ok:
            self.fails = 0
            new = True
        else:
            self.fails += 1
            new = False if (self.ready is None or self.fails >= p.get("failureThreshold", 3)) else self.ready
        changed = new != self.ready
        self.ready = new
        return changed

    def status(self):
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        r = "True" if self.ready else "False"
        return {"phase": "Running", "podIP": self.addr, "podIPs": [{"ip": self.addr}], "hostIP": self.addr,
                "conditions": [{"type": "Ready", "status": r, "lastTransitionTime": now},
                               {"type": "ContainersReady", "status": r, "lastTransitionTime": now}],
                "containerStatuses": [{"name": self.spec["containers"][0]["name"], "ready": bool(self.ready),
                                       "restartCount": self.restarts, "started": self.alive()}]}


def main(argv):
    if len(argv) == 3 and argv[1] == "kill-container" and argv[2].isdigit():
        root = int(argv[2])
        ns = container_ns(root)
        fd = hold_ns(root, ns)
        if fd is None:
            print("pods.py: process %d has no mount namespace of its own: not a container" % root, file=sys.stderr)
            return 1
        try:
            killed, at_ms = kill_container(root, ns)
        finally:
            release_ns(fd)
        print("killed %d process(es) of the container (%s) at %d: %s" %
              (len(killed), ns, at_ms, " ".join(map(str, killed))))
        return 0 if killed else 1
    print("usage: pods.py kill-container PID", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
