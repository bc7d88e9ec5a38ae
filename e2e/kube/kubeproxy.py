# e2e/kube/kubeproxy.py: the kube-lab's kube-proxy stand-in, a userspace TCP
# forwarder. Each Service of kube-fake (the API-server test double) with a
# selector gets an address (ClusterIP stand-in) in the lab's client namespace;
# a connection to ADDR:port goes to one Ready pod its selector picks at that
# moment (pod labels in the double, re-read every round by the caller), on the
# target port (named ports resolved from the pod's container). No endpoint: the
# connection is closed at once (kube-proxy rejects). Connections already open
# stay where they are, as with conntrack. NOT kube-proxy: no iptables/IPVS,
# no session affinity, no NodePort/LoadBalancer.
import itertools
import socket
import threading

import kubeapi


class Service:
    def __init__(self, name, addr, port, target, selector):
        self.name, self.addr, self.port, self.target, self.selector = name, addr, port, target, selector
        self.endpoints = []  # [(ip, port)]
        self.rr = itertools.count()
        self.lock = threading.Lock()

    def pick(self):
        with self.lock:
            if not self.endpoints:
                return None
            return self.endpoints[next(self.rr) % len(self.endpoints)]


def _pipe(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    finally:
        for s in (dst,):
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass


class Proxy:
    def __init__(self, log):
        self.log = log
        self.services = {}  # (name, port) -> Service

    def listen(self, svc):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((svc.addr, svc.port))
        ls.listen(64)
        threading.Thread(target=self.accept_loop, args=(ls, svc), daemon=True).start()

    def accept_loop(self, ls, svc):
        while True:
            c, _ = ls.accept()
            ep = svc.pick()
            if ep is None:
                c.close()
                continue
            threading.Thread(target=self.forward, args=(c, ep), daemon=True).start()

    def forward(self, c, ep):
        try:
            b = socket.create_connection(ep, timeout=3)
            b.settimeout(None)
        except OSError:
            c.close()
            return
        t = threading.Thread(target=_pipe, args=(b, c), daemon=True)
        t.start()
        _pipe(c, b)
        t.join()
        c.close()
        b.close()

    def sync(self, services, pods, addr_of):
        """services: the namespace's Service objects; pods: its pods;
        addr_of(service name) -> the ClusterIP stand-in. Opens listeners for new
        Services and sets every Service's endpoints."""
        for s in services:
            spec = s.get("spec", {})
            sel = spec.get("selector")
            if not sel or spec.get("clusterIP") == "None":
                continue  # headless or without selector: DNS only
            name = s["metadata"]["name"]
            for p in spec.get("ports", []):
                key = (name, p["port"])
                if key not in self.services:
                    svc = Service(name, addr_of(name), p["port"], p.get("targetPort", p["port"]), sel)
                    self.listen(svc)
                    self.services[key] = svc
                    self.log("service %s: %s:%d -> pods %s, port %s" % (name, svc.addr, svc.port, sel, svc.target))
                svc = self.services[key]
                svc.selector = sel
                eps = []
                for pod in pods:
                    if pod["metadata"].get("deletionTimestamp") or not kubeapi.ready(pod):
                        continue
                    if not kubeapi.selects(sel, pod["metadata"].get("labels", {})):
                        continue
                    ip = pod.get("status", {}).get("podIP")
                    port = svc.target
                    if not str(port).isdigit():
                        port = next((cp["containerPort"] for c in pod["spec"].get("containers", [])
                                     for cp in c.get("ports", []) if cp.get("name") == port), None)
                    if ip and port:
                        eps.append((ip, int(port)))
                eps.sort()
                with svc.lock:
                    if eps != svc.endpoints:
                        self.log("service %s:%d endpoints %s" % (name, svc.port,
                                                                 [e[0] for e in eps] or "none"))
                    svc.endpoints = eps
