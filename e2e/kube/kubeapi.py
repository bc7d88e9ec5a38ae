# e2e/kube/kubeapi.py: the few API calls the kube-lab's kubelet and kube-proxy
# stand-ins make to kube-fake (the API-server test double), as an administrator
# (the harness plays the node, not a pod). Python standard library only.
import http.client
import json
import ssl
import urllib.parse


class Unavailable(RuntimeError):
    """The API server did not answer (connection refused, reset or timed out)."""


class Api:
    def __init__(self, url, ca_file, token, timeout=3.0):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 443
        self.ctx = ssl.create_default_context(cafile=ca_file)
        self.token = token
        self.timeout = timeout

    def call(self, method, path, body=None, content_type="application/json"):
        """(status, parsed JSON or None); status 0 when the server does not answer."""
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=self.timeout)
        try:
            headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = content_type
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw) if raw else None
            except ValueError:
                return r.status, None
        except (OSError, http.client.HTTPException):
            return 0, None
        finally:
            conn.close()

    def list(self, ns, plural, group="", version="v1"):
        base = "/api/v1" if not group else "/apis/%s/%s" % (group, version)
        code, body = self.call("GET", "%s/namespaces/%s/%s" % (base, ns, plural))
        if code != 200 or not body:
            return None
        return body.get("items", [])

    def get(self, ns, plural, name):
        """The object, or None when the server answers without it; raises
        Unavailable when the server does not answer at all."""
        code, body = self.call("GET", "/api/v1/namespaces/%s/%s/%s" % (ns, plural, name))
        if code == 0:
            raise Unavailable("the API server does not answer (GET %s/%s/%s)" % (ns, plural, name))
        return body if code == 200 else None

    def patch_status(self, ns, pod, status):
        return self.call("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns, pod), {"status": status},
                         "application/merge-patch+json")[0]


def read_env(path):
    """The KEY=VALUE lines of kube-fake's env file."""
    env = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k:
                env[k] = v
    return env


def api_from_env(path):
    env = read_env(path)
    return Api(env["KUBE_FAKE_URL"], env["KUBE_FAKE_CA"], env["KUBE_FAKE_ADMIN_TOKEN"])


def ready(pod):
    for c in pod.get("status", {}).get("conditions", []):
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def ordinal(pod_name):
    tail = pod_name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def pod_fqdn(pod, ns):
    """NAME-i.NAME-hl.NS.svc for a StatefulSet pod (spec.subdomain, else NAME-hl)."""
    name = pod["metadata"]["name"]
    sub = pod.get("spec", {}).get("subdomain") or (name.rsplit("-", 1)[0] + "-hl")
    return "%s.%s.%s.svc" % (name, sub, ns)


def write_hosts(path, entries):
    """Rewrites a hosts file IN PLACE (same inode: `ip netns exec` bind-mounts it
    over /etc/hosts of processes already running)."""
    text = "127.0.0.1 localhost\n" + "".join("%s %s\n" % (a, " ".join(n)) for a, n in entries)
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, "r+" if _exists(path) else "w") as f:
        f.seek(0)
        f.write(text)
        f.truncate()


def _exists(path):
    try:
        open(path).close()
        return True
    except OSError:
        return False
