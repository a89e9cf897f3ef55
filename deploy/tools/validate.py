"""Offline validation of everything under deploy/: run through deploy/validate, which provides
the pinned tools of deploy/tools/requirements.txt in a virtualenv.

Steps, each reported as one check line:
  1. render   the kustomize base and overlays (`kubectl kustomize`) and the Helm chart with
              several value sets, single-node and cluster mode (helm-python-sdk: Helm v4's
              engine, no cluster, no helm binary)
  2. schema   every rendered object against the Kubernetes OpenAPI schemas of kubernetes-validate
              in strict mode (unknown fields fail) for each version in KUBE_VERSIONS; an object
              whose kind has no schema there fails too, unless deploy/schemas/ has one for it
              (the Prometheus Operator CRDs)
  3. rules    cross-object rules: selectors match pod labels, named ports exist, probes hit
              /health and /ready on a real port, serviceName is the headless Service, the PDB and
              ServiceMonitor select what they should, the --config file has only keys that
              broker/server/src/config.rs accepts, the grace period exceeds the drain deadline;
              in cluster mode also: node id from the pod name, advertised URL under the headless
              Service, readiness on /health (standbys serve too), the NATS URLs name the NATS
              pods, and the NATS servers fsync every write, take 8 MB messages and run the
              version scripts/nats-server pins
  4. chart    helm lint, values.schema.json rejecting unknown keys and bad values
  5. alerts   deploy/prometheus/alerts.yaml well-formed, only known metrics, identical to the
              PrometheusRule copies; the Grafana dashboard likewise
  6. lint     yamllint (deploy/.yamllint.yaml) and hadolint on the Dockerfile
  7. planted  every cross-object and schema check is run on copies of the objects with one
              planted error each and must catch it, so a check that silently stopped checking
              fails the run

Exit status 0 when every check passed. The last line is "deploy: N passed, M failed".
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jsonschema
import yaml
from kubernetes_validate import utils as kv

DEPLOY = Path(__file__).resolve().parent.parent
REPO = DEPLOY.parent
VENV_BIN = Path(sys.executable).parent

# The oldest Kubernetes the chart declares (Chart.yaml kubeVersion) and the newest
# kubernetes-validate 1.37.0 ships schemas for.
KUBE_VERSIONS = ("1.30.0", "1.37.0")

# uid of the sluice user in deploy/docker/Dockerfile.
SLUICE_UID = 10001
# sluice's default drain deadline (broker/server/src/config.rs defaults::SHUTDOWN_TIMEOUT_SECS).
DEFAULT_SHUTDOWN_TIMEOUT = 30

# Metric names the alert rules and the dashboard may use: those of broker/server/src/metrics.rs
# and the per-resource ones that issue 6 item 1 specifies. A name outside this list is a typo.
HISTOGRAMS = {"sluice_request_duration_seconds", "sluice_kinesis_iterator_age_milliseconds"}
KNOWN_METRICS = {
    "sluice_requests_total",
    "sluice_request_duration_seconds",
    "sluice_open_connections",
    "sluice_queue_messages",
    "sluice_queue_oldest_message_age_seconds",
    "sluice_dead_letter_queue_messages",
    "sluice_kinesis_records_total",
    "sluice_kinesis_bytes_total",
    "sluice_kinesis_throttled_total",
    "sluice_kinesis_iterator_age_milliseconds",
    "sluice_stream_incoming_records_total",
    "sluice_stream_incoming_bytes_total",
    "sluice_stream_outgoing_records_total",
    "sluice_stream_outgoing_bytes_total",
    "sluice_stream_iterator_age_milliseconds",
    "sluice_topic_publishes_total",
    "sluice_topic_deliveries_total",
    "sluice_topic_delivery_failures_total",
    "sluice_rocksdb_live_data_bytes",
    "sluice_rocksdb_pending_compaction_bytes",
    "sluice_rocksdb_sst_files_bytes",
    "sluice_rocksdb_running_compactions",
    "sluice_rocksdb_write_stopped",
    "sluice_rocksdb_delayed_write_rate_bytes",
    "sluice_metrics_resources_omitted",
    "sluice_cluster_writer",
    "sluice_cluster_log_position",
    "sluice_cluster_log_end",
    "sluice_cluster_log_lag",
    "sluice_cluster_appends_total",
    "sluice_cluster_appended_commits_total",
    "sluice_cluster_appends_in_flight",
    "sluice_cluster_takeover_seconds",
    "sluice_cluster_snapshot_position",
}

# The `--config` TOML file's keys are the fields of this struct; sluice rejects any other key
# (serde deny_unknown_fields), so the pod would crash-loop on a typo.
CONFIG_RS = REPO / "broker" / "server" / "src" / "config.rs"


def file_config_keys() -> set[str]:
    match = re.search(r"pub struct FileConfig \{(.*?)\n\}", CONFIG_RS.read_text(), re.S)
    if match is None:
        raise RuntimeError(f"cannot find `pub struct FileConfig` in {CONFIG_RS.relative_to(REPO)}")
    return set(re.findall(r"pub (\w+):", match.group(1)))


# Objects of these kinds are checked against the committed JSON schemas, not kubernetes-validate.
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.monitoring.coreos.com-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.monitoring.coreos.com-v1.json",
}

MONITORING_VALUES = {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}}
# Every optional branch of the templates taken at once, with non-default names.
CUSTOM_VALUES = {
    "fullnameOverride": "broker",
    "image": {"repository": "registry.example.com/sluice", "tag": "0.1.0", "pullPolicy": "Always"},
    "imagePullSecrets": [{"name": "registry"}],
    "config": {"durability": "process", "logFormat": "human", "publicUrl": "https://sqs.example.com",
               "shutdownTimeoutSeconds": 50},
    "service": {"type": "LoadBalancer", "port": 9324, "annotations": {"team": "messaging"}},
    "persistence": {"size": "50Gi", "storageClassName": "fast-ssd",
                    "retentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"}},
    "podDisruptionBudget": {"enabled": False},
    "podAnnotations": {"example.com/owner": "messaging"},
    "podLabels": {"team": "messaging"},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "messaging", "effect": "NoSchedule"}],
    "priorityClassName": "high",
    "serviceMonitor": {"enabled": True, "interval": "15s", "scrapeTimeout": "5s", "labels": {"release": "prom"}},
    "prometheusRule": {"enabled": True, "labels": {"release": "prom"}},
}


# Cluster mode (in progress, docs/cluster.md) with the chart's own NATS cluster.
CLUSTER_VALUES = {"cluster": {"enabled": True, "nats": {"deploy": True}}}
# Cluster mode on an existing NATS, with every other option set too.
CLUSTER_CUSTOM_VALUES = {
    **CUSTOM_VALUES,
    "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname",
         "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "sluice"}}}]}},
    "cluster": {"enabled": True, "replicas": 5, "leaseTtlMs": 2500,
                "natsUrls": "nats://nats-0.nats.messaging.svc:4222,nats://nats-1.nats.messaging.svc:4222,"
                            "nats://nats-2.nats.messaging.svc:4222"},
}

# The nats-server version scripts/nats-server pins: the image of the NATS servers the chart and
# the cluster overlay deploy must run the same one.
NATS_SERVER_SCRIPT = REPO / "scripts" / "nats-server"


def pinned_nats_version() -> str:
    match = re.search(r"^version=([0-9.]+)$", NATS_SERVER_SCRIPT.read_text(), re.M)
    if match is None:
        raise RuntimeError(f"cannot find `version=` in {NATS_SERVER_SCRIPT.relative_to(REPO)}")
    return match.group(1)


# ---- reporting ----------------------------------------------------------------------------------

@dataclass
class Report:
    passed: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)

    def check(self, name: str, errors: list[str]) -> bool:
        if errors:
            self.failed += 1
            print(f"FAIL {name}")
            for e in errors:
                print(f"     - {e}")
            self.failures.append(name)
            return False
        self.passed += 1
        print(f"ok   {name}")
        return True

    def run(self, name: str, fn: Callable[[], list[str]]) -> bool:
        try:
            errors = fn()
        except Exception as e:  # a crash in a step is that step's failure, not the run's end
            errors = [f"{type(e).__name__}: {e}"] + [
                line for line in traceback.format_exc().splitlines()[-4:-1]
            ]
        return self.check(name, errors)


# ---- rendering ----------------------------------------------------------------------------------

def load_docs(text: str, origin: str) -> list[dict]:
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d:
            raise ValueError(f"{origin}: a document is not a Kubernetes object: {str(d)[:80]}")
    return docs


def render_kustomize(path: Path) -> list[dict]:
    out = subprocess.run([str(VENV_BIN / "kubectl"), "kustomize", str(path)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {path.relative_to(REPO)}: {out.stderr.strip()}")
    return load_docs(out.stdout, str(path))


def helm():
    import helm_python

    return helm_python


@contextlib.contextmanager
def native_stderr_filtered():
    """Helm's Go code logs to file descriptor 2 directly. The chart's files/alerts.yaml is a
    symlink to deploy/prometheus/alerts.yaml, and Helm logs an INFO line about it on every
    load: drop those lines, pass anything else through."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines():
                if "found symbolic link in path" not in line:
                    print(line, file=sys.stderr)


CHART = DEPLOY / "helm" / "sluice"


def render_helm(values: dict) -> list[dict]:
    h = helm()
    with native_stderr_filtered(), h.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values, name="sluice", namespace="sluice")
    objs: list[dict] = []
    for name, text in sorted(manifests.items()):
        if name.endswith("NOTES.txt"):
            if not text.strip():
                raise ValueError("NOTES.txt rendered empty")
            continue
        objs.extend(load_docs(text, name))
    return objs


# ---- Kubernetes and CRD schemas -----------------------------------------------------------------

def crd_validator(kind_key: tuple[str, str]) -> jsonschema.protocols.Validator:
    schema = json.loads((DEPLOY / "schemas" / CRD_SCHEMAS[kind_key]).read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_errors(objs: list[dict]) -> list[str]:
    errors = []
    for obj in objs:
        ident = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        key = (obj.get("apiVersion"), obj.get("kind"))
        if key in CRD_SCHEMAS:
            for e in sorted(crd_validator(key).iter_errors(obj), key=lambda e: list(e.path)):
                path = "/".join(str(p) for p in e.absolute_path)
                errors.append(f"{ident}: {path}: {e.message}")
            continue
        for version in KUBE_VERSIONS:
            try:
                kv.validate(obj, version, strict=True)
            except kv.SchemaNotFoundError as e:
                # kubernetes-validate only warns here; an unchecked object is a failure for us.
                errors.append(f"{ident}: {e.message} (add a schema to deploy/schemas/)")
            except kv.ValidationError as e:
                path = "/".join(str(p) for p in e.path)
                errors.append(f"{ident} (Kubernetes {version}): {path}: {e.message}")
    return errors


# ---- cross-object rules -------------------------------------------------------------------------

def selects(selector: dict | None, labels: dict) -> bool:
    """Whether a selector matches `labels`: a Service's plain map, or a LabelSelector with
    matchLabels/matchExpressions. An empty selector counts as no match (it would select every
    pod of the namespace, never what a Sluice object means)."""
    if not selector:
        return False
    if "matchLabels" in selector or "matchExpressions" in selector:
        match_labels = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
    else:
        match_labels, expressions = selector, []
    if not match_labels and not expressions:
        return False
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expr in expressions:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def name_of(obj: dict) -> str:
    return obj["metadata"]["name"]


def shutdown_timeout(sts: dict, configmaps: dict[str, dict], container: dict) -> tuple[int, str]:
    """The drain deadline sluice will use: flag > env > --config file > default."""
    for arg in container.get("args", []):
        if arg.startswith("--shutdown-timeout="):
            return int(arg.split("=", 1)[1]), "--shutdown-timeout"
    for env in container.get("env", []):
        if env["name"] == "SLUICE_SHUTDOWN_TIMEOUT":
            return int(env["value"]), "SLUICE_SHUTDOWN_TIMEOUT"
    config_path = next((a.split("=", 1)[1] for a in container.get("args", []) if a.startswith("--config=")), None)
    if config_path:
        toml_text = config_file_text(sts, configmaps, container, config_path)
        if toml_text is not None:
            cfg = tomllib.loads(toml_text)
            if "shutdown_timeout" in cfg:
                return int(cfg["shutdown_timeout"]), f"shutdown_timeout in {config_path}"
    return DEFAULT_SHUTDOWN_TIMEOUT, "sluice's default"


def config_file_text(sts: dict, configmaps: dict[str, dict], container: dict, path: str) -> str | None:
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"].get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        prefix = mount["mountPath"].rstrip("/") + "/"
        if path.startswith(prefix):
            vol = volumes.get(mount["name"], {})
            cm = configmaps.get(vol.get("configMap", {}).get("name", ""))
            if cm is not None:
                return cm.get("data", {}).get(path[len(prefix):])
    return None


def cross_object_errors(objs: list[dict], expect_monitoring: bool) -> list[str]:
    errors: list[str] = []
    by_kind: dict[str, list[dict]] = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)
    names = [(o["kind"], name_of(o)) for o in objs]
    if len(names) != len(set(names)):
        errors.append(f"duplicate objects: {sorted(n for n in names if names.count(n) > 1)}")
    services = {name_of(s): s for s in by_kind.get("Service", [])}
    configmaps = {name_of(c): c for c in by_kind.get("ConfigMap", [])}
    stses = [o for o in by_kind.get("StatefulSet", []) if is_sluice_sts(o)]
    if len(stses) != 1:
        return errors + [f"expected exactly one StatefulSet running sluice, found {len(stses)}"]
    sts = stses[0]
    others = [o for o in by_kind.get("StatefulSet", []) if o is not sts]
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"].get("labels", {})
    ident = f"StatefulSet/{name_of(sts)}"
    sluice_env = {e["name"] for c in pod.get("containers", []) for e in c.get("env", [])}
    cluster = "SLUICE_CLUSTER" in sluice_env

    if not cluster and spec.get("replicas", 1) != 1:
        errors.append(f"{ident}: replicas must be 1 (sluice is a single-node broker outside cluster mode)")
    if not selects(spec["selector"], pod_labels):
        errors.append(f"{ident}: selector {spec['selector']} does not match pod template labels {pod_labels}")

    # serviceName: the governing, headless Service selecting this pod.
    governing = services.get(spec.get("serviceName", ""))
    if governing is None:
        errors.append(f"{ident}: serviceName {spec.get('serviceName')!r} is not a Service of this set")
    else:
        if governing["spec"].get("clusterIP") != "None":
            errors.append(f"{ident}: serviceName {name_of(governing)} is not headless (clusterIP: None)")
        if not selects(governing["spec"].get("selector"), pod_labels):
            errors.append(f"{ident}: its headless Service {name_of(governing)} does not select its pods")

    containers = pod.get("containers", [])
    sluice = next((c for c in containers if c["name"] == "sluice"), None)
    if sluice is None:
        return errors + [f"{ident}: no container named sluice"]
    ports = {p["name"]: p["containerPort"] for p in sluice.get("ports", []) if "name" in p}
    container_ports = {p["containerPort"] for p in sluice.get("ports", [])}
    if "api" not in ports:
        errors.append(f"{ident}: container sluice has no port named api")
    env = {e["name"]: e.get("value") for e in sluice.get("env", [])}
    bind = env.get("SLUICE_BIND", "")
    if not bind.startswith("0.0.0.0:") or int(bind.rsplit(":", 1)[1]) != ports.get("api"):
        errors.append(f"{ident}: SLUICE_BIND={bind!r} must listen on 0.0.0.0 at the api port {ports.get('api')}")

    errors += env_reference_errors(ident, sluice)

    # Probes: all three, HTTP, on a declared port, at the endpoints sluice serves.
    # In cluster mode readiness is /health: /ready is 200 on the writer only, and the client
    # Service must route to the standbys too (they forward to the writer).
    want_paths = {"startupProbe": "/health", "livenessProbe": "/health",
                  "readinessProbe": "/health" if cluster else "/ready"}
    for probe_name, path in want_paths.items():
        probe = sluice.get(probe_name)
        if probe is None:
            errors.append(f"{ident}: {probe_name} missing")
            continue
        http = probe.get("httpGet")
        if http is None:
            errors.append(f"{ident}: {probe_name} is not an httpGet probe")
            continue
        if http.get("path") != path:
            errors.append(f"{ident}: {probe_name} path {http.get('path')!r}, sluice serves {path}")
        port = http.get("port")
        if isinstance(port, str) and port not in ports:
            errors.append(f"{ident}: {probe_name} port {port!r} is not a named container port {sorted(ports)}")
        if isinstance(port, int) and port not in container_ports:
            errors.append(f"{ident}: {probe_name} port {port} is not a container port")
        if http.get("scheme", "HTTP") != "HTTP":
            errors.append(f"{ident}: {probe_name} must use HTTP (sluice serves cleartext)")

    # Volumes: every mount has a volume; the data dir is on the claim template; config exists.
    claim_names = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for mount in sluice.get("volumeMounts", []):
        if mount["name"] not in volumes and mount["name"] not in claim_names:
            errors.append(f"{ident}: volumeMount {mount['name']} has no volume or claim template")
    data_dir = env.get("SLUICE_DATA_DIR")
    data_mount = next((m for m in sluice.get("volumeMounts", []) if m["mountPath"] == data_dir), None)
    if data_mount is None or data_mount["name"] not in claim_names:
        errors.append(f"{ident}: SLUICE_DATA_DIR={data_dir!r} is not a mounted volumeClaimTemplate")
    for vol in volumes.values():
        cm = vol.get("configMap", {}).get("name")
        if cm is not None and cm not in configmaps:
            errors.append(f"{ident}: volume {vol['name']} refers to missing ConfigMap {cm}")

    # Graceful shutdown: the kubelet must not kill sluice before its drain deadline ends.
    timeout, source = shutdown_timeout(sts, configmaps, sluice)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace <= timeout:
        errors.append(f"{ident}: terminationGracePeriodSeconds {grace} must exceed the drain deadline "
                      f"{timeout} s ({source})")

    # The config file must hold only keys sluice knows.
    config_path = next((a.split("=", 1)[1] for a in sluice.get("args", []) if a.startswith("--config=")), None)
    if config_path is not None:
        text = config_file_text(sts, configmaps, sluice, config_path)
        if text is None:
            errors.append(f"{ident}: --config={config_path} is not a file of a mounted ConfigMap")
        else:
            unknown = set(tomllib.loads(text)) - file_config_keys()
            if unknown:
                errors.append(f"{ident}: {config_path} has keys sluice rejects: {sorted(unknown)}")

    # Hardening.
    psc = pod.get("securityContext", {})
    csc = sluice.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True or psc.get("runAsUser") != SLUICE_UID:
        errors.append(f"{ident}: pod must run as non-root uid {SLUICE_UID} (the image's user)")
    if psc.get("fsGroup") is None:
        errors.append(f"{ident}: pod needs an fsGroup so the volume is writable by uid {SLUICE_UID}")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        errors.append(f"{ident}: seccompProfile must be RuntimeDefault")
    if csc.get("readOnlyRootFilesystem") is not True or csc.get("allowPrivilegeEscalation") is not False:
        errors.append(f"{ident}: container needs readOnlyRootFilesystem true and allowPrivilegeEscalation false")
    if "ALL" not in csc.get("capabilities", {}).get("drop", []):
        errors.append(f"{ident}: container must drop ALL capabilities")
    if not sluice.get("resources", {}).get("requests") or not sluice.get("resources", {}).get("limits"):
        errors.append(f"{ident}: container needs resource requests and limits")

    # Services: select the pod; named target ports exist on the container.
    # Services: each selects the pods of exactly one StatefulSet (never Sluice's and NATS's).
    all_sets = [sts] + others
    for svc in services.values():
        sid = f"Service/{name_of(svc)}"
        chosen = [o for o in all_sets
                  if selects(svc["spec"].get("selector"), o["spec"]["template"]["metadata"].get("labels", {}))]
        if len(chosen) != 1:
            errors.append(f"{sid}: selector {svc['spec'].get('selector')} matches the pods of "
                          f"{len(chosen)} StatefulSets {[name_of(o) for o in chosen]}, want exactly 1")
            continue
        target_ports = {p["name"]: p["containerPort"] for c in chosen[0]["spec"]["template"]["spec"]["containers"]
                        for p in c.get("ports", []) if "name" in p}
        for p in svc["spec"].get("ports", []):
            target = p.get("targetPort", p["port"])
            if isinstance(target, str) and target not in target_ports:
                errors.append(f"{sid}: targetPort {target!r} is not a named container port {sorted(target_ports)}")
            if isinstance(target, int) and target not in target_ports.values():
                errors.append(f"{sid}: targetPort {target} is not a container port")
    clients = [s for s in services.values() if s["spec"].get("clusterIP") != "None"]
    if clients and not selects(clients[0]["spec"].get("selector"), pod_labels):
        errors.append(f"Service/{name_of(clients[0])}: the client Service does not select the sluice pods")
    if len(clients) != 1:
        errors.append(f"expected one client (non-headless) Service, found {len(clients)}")

    for pdb in by_kind.get("PodDisruptionBudget", []):
        chosen = [o for o in all_sets
                  if selects(pdb["spec"].get("selector"), o["spec"]["template"]["metadata"].get("labels", {}))]
        if len(chosen) != 1:
            errors.append(f"PodDisruptionBudget/{name_of(pdb)}: selector matches the pods of {len(chosen)} "
                          "StatefulSets, want exactly 1")
            continue
        replicas = chosen[0]["spec"].get("replicas", 1)
        if replicas > 1:
            # Several replicas: a drain must be able to evict one at a time, never all at once.
            allowed = (pdb["spec"]["maxUnavailable"] if "maxUnavailable" in pdb["spec"]
                       else replicas - pdb["spec"].get("minAvailable", 0))
            if allowed != 1:
                errors.append(f"PodDisruptionBudget/{name_of(pdb)}: allows {allowed} of {replicas} pods of "
                              f"{name_of(chosen[0])} to be evicted at once, want 1")
    if cluster:
        errors += cluster_errors(sts, sluice, services, configmaps, others)
    elif others:
        errors.append(f"StatefulSets besides sluice outside cluster mode: {[name_of(o) for o in others]}")

    # ServiceMonitor: exactly one Service (not the headless one too), on a named Service port.
    monitors = by_kind.get("ServiceMonitor", [])
    for sm in monitors:
        mid = f"ServiceMonitor/{name_of(sm)}"
        chosen = [s for s in services.values()
                  if selects(sm["spec"].get("selector"), s["metadata"].get("labels", {}))]
        if len(chosen) != 1:
            errors.append(f"{mid}: selects {len(chosen)} Services {[name_of(s) for s in chosen]}, want exactly 1")
            continue
        svc_ports = {p.get("name") for p in chosen[0]["spec"].get("ports", [])}
        for ep in sm["spec"].get("endpoints", []):
            if ep.get("port") not in svc_ports:
                errors.append(f"{mid}: endpoint port {ep.get('port')!r} is not a port of Service/"
                              f"{name_of(chosen[0])} {sorted(svc_ports)}")
            if ep.get("path", "/metrics") != "/metrics":
                errors.append(f"{mid}: endpoint path {ep.get('path')!r}, sluice serves /metrics")
    for rule in by_kind.get("PrometheusRule", []):
        if rule["spec"].get("groups") != alert_groups():
            errors.append(f"PrometheusRule/{name_of(rule)}: spec.groups differ from deploy/prometheus/alerts.yaml")
    if expect_monitoring and (not monitors or not by_kind.get("PrometheusRule")):
        errors.append("expected a ServiceMonitor and a PrometheusRule in this rendering")
    if not expect_monitoring and (monitors or by_kind.get("PrometheusRule")):
        errors.append("monitoring objects rendered although not enabled")
    return errors


def is_sluice_sts(o: dict) -> bool:
    return o["kind"] == "StatefulSet" and any(
        c["name"] == "sluice" for c in o["spec"]["template"]["spec"].get("containers", []))


def env_reference_errors(ident: str, container: dict) -> list[str]:
    """The kubelet expands $(NAME) in an env value only when NAME is defined earlier in the list;
    otherwise the text stays as it is (a node id of "$(POD_NAME)" would be refused by sluice)."""
    errors, defined = [], set()
    for e in container.get("env", []):
        for ref in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", e.get("value") or ""):
            if ref not in defined:
                errors.append(f"{ident}: env {e['name']} uses $({ref}) before (or without) defining it")
        defined.add(e["name"])
    return errors


def field_ref(container: dict, name: str) -> str | None:
    env = next((e for e in container.get("env", []) if e["name"] == name), None)
    return None if env is None else env.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")


def cluster_errors(sts: dict, sluice: dict, services: dict[str, dict], configmaps: dict[str, dict],
                   others: list[dict]) -> list[str]:
    """Cluster mode (docs/cluster.md): every pod a node, named after itself, reachable by the
    others at its advertised URL, in the client Service while a standby, on the NATS servers
    that are deployed beside it (if any)."""
    ident = f"StatefulSet/{name_of(sts)}"
    spec = sts["spec"]
    errors = []
    env = {e["name"]: e.get("value") for e in sluice.get("env", [])}
    replicas = spec.get("replicas", 1)
    if replicas < 2:
        errors.append(f"{ident}: cluster mode with {replicas} replica: no standby to take over")
    if spec.get("podManagementPolicy") != "Parallel":
        errors.append(f"{ident}: podManagementPolicy must be Parallel in cluster mode (OrderedReady would "
                      "start each node only after the previous one is ready)")
    if field_ref(sluice, "POD_NAME") != "metadata.name":
        errors.append(f"{ident}: POD_NAME must come from fieldRef metadata.name")
    if field_ref(sluice, "POD_NAMESPACE") != "metadata.namespace":
        errors.append(f"{ident}: POD_NAMESPACE must come from fieldRef metadata.namespace")
    if env.get("SLUICE_NODE_ID") != "$(POD_NAME)":
        errors.append(f"{ident}: SLUICE_NODE_ID={env.get('SLUICE_NODE_ID')!r}, want $(POD_NAME): "
                      "unique per pod and stable across restarts")
    api = next((p["containerPort"] for p in sluice.get("ports", []) if p.get("name") == "api"), None)
    want = f"http://$(POD_NAME).{spec.get('serviceName')}.$(POD_NAMESPACE).svc:{api}"
    if env.get("SLUICE_ADVERTISE") != want:
        errors.append(f"{ident}: SLUICE_ADVERTISE={env.get('SLUICE_ADVERTISE')!r}, want {want} (the pod's "
                      "own name under its headless Service, where the other nodes forward to it)")
    governing = services.get(spec.get("serviceName", ""))
    if governing is not None and governing["spec"].get("publishNotReadyAddresses") is not True:
        errors.append(f"Service/{name_of(governing)}: needs publishNotReadyAddresses: true in cluster mode "
                      "(a node must reach the writer's name whatever the writer's readiness)")
    args = " ".join(sluice.get("args", []))
    if "--init" in args or "SLUICE_INIT" in env:
        errors.append(f"{ident}: --init is not supported in cluster mode yet")
    if "--tls-cert" in args or "SLUICE_TLS_CERT" in env:
        errors.append(f"{ident}: TLS is not supported in cluster mode yet")
    urls = [u.strip() for u in (env.get("SLUICE_CLUSTER") or "").split(",") if u.strip()]
    if not urls:
        errors.append(f"{ident}: SLUICE_CLUSTER names no NATS URL")
    for u in urls:
        if not re.fullmatch(r"(nats|tls)://[A-Za-z0-9.$()_-]+:[0-9]+", u):
            errors.append(f"{ident}: SLUICE_CLUSTER URL {u!r} is not nats://host:port")
    ttl = env.get("SLUICE_CLUSTER_LEASE_TTL_MS")
    if ttl is not None and not (ttl.isdigit() and 1000 <= int(ttl) <= 60000):
        errors.append(f"{ident}: SLUICE_CLUSTER_LEASE_TTL_MS={ttl!r} is not a whole number of ms from 1000 to 60000 "
                      "(sluice refuses to start)")
    nats_sets = [o for o in others if any(c["name"] == "nats" for c in o["spec"]["template"]["spec"]["containers"])]
    if len(nats_sets) != len(others):
        errors.append(f"StatefulSets other than sluice and NATS: {[name_of(o) for o in others if o not in nats_sets]}")
    for nats in nats_sets:
        errors += nats_errors(nats, services, configmaps)
        n = nats["spec"]
        client = next((p["containerPort"] for c in n["template"]["spec"]["containers"]
                       for p in c.get("ports", []) if p.get("name") == "client"), None)
        want_urls = [f"nats://{name_of(nats)}-{i}.{n.get('serviceName')}.$(POD_NAMESPACE).svc:{client}"
                     for i in range(n.get("replicas", 1))]
        if urls != want_urls:
            errors.append(f"{ident}: SLUICE_CLUSTER={','.join(urls)!r}, want the NATS servers deployed beside it: "
                          f"{','.join(want_urls)!r}")
    return errors


def nats_errors(nats: dict, services: dict[str, dict], configmaps: dict[str, dict]) -> list[str]:
    """The NATS JetStream cluster deployed for cluster mode: three servers, each with its own
    volume, fsyncing every write, taking 8 MB messages, routed to each other by stable names,
    running the nats-server version of scripts/nats-server."""
    ident = f"StatefulSet/{name_of(nats)}"
    spec = nats["spec"]
    pod = spec["template"]["spec"]
    c = next(c for c in pod["containers"] if c["name"] == "nats")
    errors = []
    replicas = spec.get("replicas", 1)
    if replicas != 3:
        errors.append(f"{ident}: replicas {replicas}, want 3 (the log and the lease have three replicas)")
    if not selects(spec["selector"], spec["template"]["metadata"].get("labels", {})):
        errors.append(f"{ident}: selector does not match its pod template labels")
    governing = services.get(spec.get("serviceName", ""))
    if governing is None or governing["spec"].get("clusterIP") != "None":
        errors.append(f"{ident}: serviceName {spec.get('serviceName')!r} is not a headless Service of this set")
    elif governing["spec"].get("publishNotReadyAddresses") is not True:
        errors.append(f"Service/{name_of(governing)}: needs publishNotReadyAddresses: true (routes form before "
                      "the servers are ready)")
    version = pinned_nats_version()
    image = c.get("image", "")
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    if not re.fullmatch(re.escape(version) + r"(-[a-z0-9.]+)?", tag):
        errors.append(f"{ident}: image {image!r} is not nats-server {version} pinned by tag (scripts/nats-server)")
    if field_ref(c, "POD_NAME") != "metadata.name":
        errors.append(f"{ident}: POD_NAME (the server_name) must come from fieldRef metadata.name")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", []) if "name" in p}
    for probe_name in ("startupProbe", "livenessProbe", "readinessProbe"):
        http = (c.get(probe_name) or {}).get("httpGet")
        if http is None:
            errors.append(f"{ident}: {probe_name} missing or not httpGet")
        elif not http.get("path", "").startswith("/healthz") or http.get("port") != "monitor" \
                or "monitor" not in ports:
            errors.append(f"{ident}: {probe_name} must GET /healthz on the monitor port")
    args = c.get("args", [])
    config_path = args[args.index("--config") + 1] if "--config" in args[:-1] else None
    text = config_path and config_file_text(nats, configmaps, c, config_path)
    if not text:
        errors.append(f"{ident}: --config {config_path!r} is not a file of a mounted ConfigMap")
        text = ""
    checks = [
        (r"^\s*sync_interval:\s*always\s*$", "sync_interval: always (fsync before every acknowledgement)"),
        (r"^\s*max_payload:\s*8MB\s*$", "max_payload: 8MB (one group of writes per message)"),
        (r"^\s*server_name:\s*\$POD_NAME\s*$", "server_name: $POD_NAME"),
        (r"^\s*listen:\s*0\.0\.0\.0:" + str(ports.get("client")) + r"\s*$", "listen on the client port"),
        (r"^\s*http:\s*0\.0\.0\.0:" + str(ports.get("monitor")) + r"\s*$", "http on the monitor port"),
    ]
    for pattern, what in checks:
        if text and not re.search(pattern, text, re.M):
            errors.append(f"{ident}: {config_path} lacks {what}")
    store = re.search(r"^\s*store_dir:\s*\"?([^\s\"]+)", text, re.M)
    claims = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
    mount = next((m for m in c.get("volumeMounts", []) if store and m["mountPath"] == store.group(1)), None)
    if mount is None or mount["name"] not in claims:
        errors.append(f"{ident}: JetStream's store_dir is not a mounted volumeClaimTemplate")
    routes = re.findall(r"nats://([A-Za-z0-9.-]+):(\d+)", text)
    cluster_port = ports.get("cluster")
    want = [f"{name_of(nats)}-{i}.{spec.get('serviceName')}" for i in range(replicas)]
    got = sorted(h for h, p in routes if int(p) == cluster_port)
    if [g.split(".")[0] + "." + g.split(".")[1] for g in got] != want:
        errors.append(f"{ident}: cluster routes {got} are not the {replicas} servers {want} on port {cluster_port}")
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        errors.append(f"{ident}: pod must run as non-root with the RuntimeDefault seccomp profile")
    if csc.get("readOnlyRootFilesystem") is not True or "ALL" not in csc.get("capabilities", {}).get("drop", []):
        errors.append(f"{ident}: container needs readOnlyRootFilesystem and must drop ALL capabilities")
    return errors


def parity_errors(base: list[dict], chart: list[dict]) -> list[str]:
    """The kustomize base and the chart with default values must deploy the same pod: the two
    are maintained by hand side by side, and this catches one being changed without the other."""
    def set_view(sts: dict) -> dict:
        pod = copy.deepcopy(sts["spec"]["template"]["spec"])
        for c in pod["containers"]:
            c.pop("image", None)
            # Kustomize's patch puts added variables first, the chart last; what matters is that
            # each is defined before use, which the rules check.
            c["env"] = sorted(c.get("env", []), key=lambda e: e["name"])
        for v in pod.get("volumes", []):
            v.get("configMap", {}).pop("name", None)  # sluice-config-<hash> vs sluice-config
        claims = [{k: t[k] for k in ("spec",)} for t in sts["spec"].get("volumeClaimTemplates", [])]
        return {"pod": pod, "claims": claims, "retention": sts["spec"].get("persistentVolumeClaimRetentionPolicy"),
                "replicas": sts["spec"].get("replicas", 1),
                "podManagementPolicy": sts["spec"].get("podManagementPolicy", "OrderedReady")}

    def pod_view(objs: list[dict]) -> dict:
        view = set_view(find(objs, "StatefulSet", is_sluice_sts))
        view["nats"] = [set_view(o) for o in objs if o["kind"] == "StatefulSet" and not is_sluice_sts(o)]
        view["config"] = tomllib.loads(sluice_configmap(objs)["data"]["sluice.toml"])
        view["ports"] = sorted((p["name"], p["port"]) for s in objs if s["kind"] == "Service"
                               for p in s["spec"]["ports"])
        view["pdbs"] = sorted((p["spec"].get("minAvailable"), p["spec"].get("maxUnavailable"))
                              for p in objs if p["kind"] == "PodDisruptionBudget")
        return view
    a, b = pod_view(base), pod_view(chart)
    errors = []
    for key in a:
        if key == "config":
            # The chart writes sluice's defaults out explicitly; only shared keys must agree.
            diff = {k: (a[key][k], b[key][k]) for k in a[key].keys() & b[key].keys() if a[key][k] != b[key][k]}
            missing = a[key].keys() - b[key].keys()
            if diff or missing:
                errors.append(f"config file differs: {diff or ''} {sorted(missing) or ''}")
        else:
            errors += [f"{key}{path}: base {x!r}, chart {y!r}" for path, x, y in differences(a[key], b[key])]
    return errors


def differences(a: Any, b: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Paths where two JSON-like values differ, e.g. ('.containers[0].resources.limits.memory', ...)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(a.keys() | b.keys()):
            out += differences(a.get(k), b.get(k), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [(path, a, b)]


# ---- alert rules and dashboard ------------------------------------------------------------------

ALERTS = DEPLOY / "prometheus" / "alerts.yaml"
DASHBOARD = DEPLOY / "grafana" / "sluice-dashboard.json"
METRIC_RE = re.compile(r"\bsluice_[a-z0-9_]+\b")


def alert_groups() -> list:
    return yaml.safe_load(ALERTS.read_text())["groups"]


def metric_errors(expr: str, where: str) -> list[str]:
    errors = []
    for name in METRIC_RE.findall(expr):
        base = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[: -len(suffix)] in HISTOGRAMS:
                base = name[: -len(suffix)]
        if base not in KNOWN_METRICS:
            errors.append(f"{where}: unknown metric {name}")
    if not METRIC_RE.search(expr):
        errors.append(f"{where}: expression uses no sluice metric: {expr}")
    for open_, close in ("()", "[]", "{}"):
        if expr.count(open_) != expr.count(close):
            errors.append(f"{where}: unbalanced {open_}{close} in {expr}")
    return errors


def alert_file_errors(groups: Any) -> list[str]:
    wrapped = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
               "metadata": {"name": "alerts-file"}, "spec": {"groups": groups}}
    errors = [f"alerts.yaml: {e.message} at {'/'.join(map(str, e.absolute_path))}"
              for e in crd_validator(("monitoring.coreos.com/v1", "PrometheusRule")).iter_errors(wrapped)]
    if errors:
        return errors
    seen = set()
    for group in groups:
        for rule in group["rules"]:
            name = rule.get("alert", rule.get("record"))
            if name in seen:
                errors.append(f"alerts.yaml: duplicate rule {name}")
            seen.add(name)
            errors += metric_errors(rule["expr"], f"alerts.yaml {name}")
            if "alert" in rule:
                if rule.get("labels", {}).get("severity") not in ("warning", "critical"):
                    errors.append(f"alerts.yaml {name}: labels.severity must be warning or critical")
                if not {"summary", "description"} <= set(rule.get("annotations", {})):
                    errors.append(f"alerts.yaml {name}: needs summary and description annotations")
                if "for" not in rule:
                    errors.append(f"alerts.yaml {name}: needs a for: duration (no alerts on one scrape)")
    for needed in ("sluice_queue_oldest_message_age_seconds", "sluice_dead_letter_queue_messages",
                   "sluice_stream_iterator_age_milliseconds", "sluice_topic_delivery_failures_total"):
        if not any(needed in r["expr"] for g in groups for r in g["rules"]):
            errors.append(f"alerts.yaml: no rule on {needed}")
    return errors


def dashboard_errors(dash: dict) -> list[str]:
    errors = []
    if not dash.get("uid") or not dash.get("title"):
        errors.append("dashboard needs a uid and a title")
    variables = {v["name"] for v in dash.get("templating", {}).get("list", [])}
    ids = [p.get("id") for p in dash.get("panels", [])]
    if len(ids) != len(set(ids)):
        errors.append("dashboard: duplicate panel ids")
    cells = set()
    for panel in dash.get("panels", []):
        where = f"dashboard panel {panel.get('id')} {panel.get('title')!r}"
        g = panel["gridPos"]
        if g["x"] < 0 or g["x"] + g["w"] > 24:
            errors.append(f"{where}: gridPos outside the 24-column grid")
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    errors.append(f"{where}: overlaps another panel at {(x, y)}")
                    break
                cells.add((x, y))
        if panel["type"] == "row":
            continue
        uid = panel.get("datasource", {}).get("uid", "")
        if uid.startswith("$") and uid.strip("${}") not in variables:
            errors.append(f"{where}: datasource variable {uid} is not defined")
        if not panel.get("targets"):
            errors.append(f"{where}: no query")
        for t in panel.get("targets", []):
            errors += metric_errors(t["expr"], where)
            for var in re.findall(r"\$([a-z_]+)", t["expr"]):
                if var not in variables and not var.startswith("__"):
                    errors.append(f"{where}: variable ${var} is not defined")
    used = {m for p in dash.get("panels", []) for t in p.get("targets", []) for m in METRIC_RE.findall(t["expr"])}
    used = {re.sub(r"_bucket$", "", m) for m in used}
    missing = KNOWN_METRICS - used
    if missing:
        errors.append(f"dashboard shows no panel for {sorted(missing)}")
    return errors


# ---- chart, lint, Dockerfile --------------------------------------------------------------------

def helm_lint_errors() -> list[str]:
    errors = []
    for values in ({}, MONITORING_VALUES, CUSTOM_VALUES, CLUSTER_VALUES, CLUSTER_CUSTOM_VALUES):
        with native_stderr_filtered():
            result = helm().lint(str(CHART), values, strict=True, kube_version=f"v{KUBE_VERSIONS[0]}")
        errors += result.get("errors", [])
        # Severity 1 is informational ("icon is recommended": the project has no logo).
        errors += [f"{m['path']}: {m['error']}" for m in result.get("messages", []) if m["severity"] >= 2]
    return errors


def chart_schema_errors() -> list[str]:
    """values.schema.json must reject what sluice would reject, before anything renders."""
    bad = {
        "unknown top-level key": {"replicas": 2},
        "unknown nested key": {"config": {"bind": "0.0.0.0:1"}},
        "durability": {"config": {"durability": "sometimes"}},
        "account id": {"config": {"accountId": "123"}},
        "region": {"config": {"region": "US East"}},
        "public url": {"config": {"publicUrl": "sluice:4566"}},
        "max body": {"config": {"maxBodyBytes": 10}},
        "quantity": {"persistence": {"size": "ten gigs"}},
        "scrape interval": {"serviceMonitor": {"enabled": True, "interval": "30 seconds"}},
        "unknown cluster key": {"cluster": {"enabled": True, "nodes": 3}},
        "cluster of one node": {"cluster": {"enabled": True, "replicas": 1}},
        "NATS URL list": {"cluster": {"natsUrls": "nats://a:4222; nats://b:4222"}},
        "NATS image without a tag": {"cluster": {"nats": {"image": {"tag": ""}}}},
        "NATS volume size": {"cluster": {"nats": {"persistence": {"size": "lots"}}}},
    }
    errors = []
    h = helm()
    with native_stderr_filtered(), h.Chart.load(str(CHART)) as chart:
        for values in ({}, MONITORING_VALUES, CUSTOM_VALUES, CLUSTER_VALUES, CLUSTER_CUSTOM_VALUES):
            try:
                chart.validate_schema(chart.merge_values(values))
            except h.HelmError as e:
                errors.append(f"valid values rejected: {values}: {e}")
        for what, values in bad.items():
            try:
                chart.validate_schema(chart.merge_values(values))
                errors.append(f"values.schema.json accepts a bad {what}: {values}")
            except h.HelmError:
                pass
    return errors


def chart_cluster_fail_errors() -> list[str]:
    """cluster.enabled without a NATS to use, or with two, must fail to render (not deploy nodes
    that crash-loop on an empty SLUICE_CLUSTER)."""
    errors = []
    for what, values in {
        "no NATS at all": {"cluster": {"enabled": True}},
        "both natsUrls and nats.deploy": {"cluster": {"enabled": True, "natsUrls": "nats://nats:4222",
                                                      "nats": {"deploy": True}}},
    }.items():
        try:
            render_helm(values)
            errors.append(f"cluster mode rendered with {what}: {values}")
        except Exception as e:  # helm's error, raised through the SDK
            if "cluster" not in str(e):
                errors.append(f"cluster mode with {what} failed for another reason: {e}")
    return errors


def run_tool(args: list[str], cwd: Path = REPO) -> list[str]:
    out = subprocess.run(args, capture_output=True, text=True, cwd=cwd)
    if out.returncode != 0:
        return [line for line in (out.stdout + out.stderr).splitlines() if line.strip()] or [
            f"{args[0]} exited {out.returncode}"]
    return []


DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def dockerfile_errors() -> list[str]:
    """The image and the manifests must agree on uid, data dir, port and entrypoint."""
    text = DOCKERFILE.read_text()
    errors = []
    for needed, why in [
        (f"USER {SLUICE_UID}:{SLUICE_UID}", "the manifests' runAsUser"),
        ("SLUICE_BIND=0.0.0.0:4566", "bind outside the container"),
        ("SLUICE_DATA_DIR=/var/lib/sluice", "the manifests' data mount"),
        ('VOLUME ["/var/lib/sluice"]', "data volume"),
        ("EXPOSE 4566", "the api port"),
        ('ENTRYPOINT ["/usr/local/bin/sluice", "serve"]', "the manifests pass only serve flags"),
    ]:
        if needed not in text:
            errors.append(f"Dockerfile lacks `{needed}` ({why})")
    ignore = (REPO / ".dockerignore").read_text().split()
    for needed in ("target", ".git"):
        if needed not in ignore:
            errors.append(f".dockerignore must exclude {needed}")
    return errors


# ---- planted errors -----------------------------------------------------------------------------

def find(objs: list[dict], kind: str, pred: Callable[[dict], bool] = lambda o: True) -> dict:
    return next(o for o in objs if o["kind"] == kind and pred(o))


def sluice_sts(objs: list[dict]) -> dict:
    return find(objs, "StatefulSet", is_sluice_sts)


def sluice_configmap(objs: list[dict]) -> dict:
    return find(objs, "ConfigMap", lambda o: "sluice.toml" in o.get("data", {}))


def container(objs: list[dict]) -> dict:
    return sluice_sts(objs)["spec"]["template"]["spec"]["containers"][0]


def nats_sts(objs: list[dict]) -> dict:
    return find(objs, "StatefulSet", lambda o: not is_sluice_sts(o))


def nats_configmap(objs: list[dict]) -> dict:
    return find(objs, "ConfigMap", lambda o: "nats.conf" in o.get("data", {}))


def env_entry(objs: list[dict], name: str) -> dict:
    return next(e for e in container(objs)["env"] if e["name"] == name)


def edit_nats_conf(objs: list[dict], old: str, new: str) -> None:
    cm = nats_configmap(objs)
    cm["data"]["nats.conf"] = cm["data"]["nats.conf"].replace(old, new)


def headless(o: dict) -> bool:
    return o["spec"].get("clusterIP") == "None"


def client(o: dict) -> bool:
    return o["kind"] == "Service" and not headless(o)


PLANTS: dict[str, Callable[[list[dict]], None]] = {
    "Service targetPort names no container port":
        lambda objs: find(objs, "Service", client)["spec"]["ports"][0].update(targetPort="http"),
    "Service selector matches no pod":
        lambda objs: find(objs, "Service", client)["spec"]["selector"].update({"app.kubernetes.io/name": "sluicy"}),
    "liveness probe on a path sluice does not serve":
        lambda objs: container(objs)["livenessProbe"]["httpGet"].update(path="/healthz"),
    "readiness probe on /health instead of /ready":
        lambda objs: container(objs)["readinessProbe"]["httpGet"].update(path="/health"),
    "startup probe on an undeclared port name":
        lambda objs: container(objs)["startupProbe"]["httpGet"].update(port="admin"),
    "serviceName is not a Service":
        lambda objs: sluice_sts(objs)["spec"].update(serviceName="sluice-peers"),
    "serviceName is the client Service":
        lambda objs: sluice_sts(objs)["spec"].update(serviceName=name_of(find(objs, "Service", client))),
    "PDB selector matches no pod":
        lambda objs: find(objs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].update(
            {"app.kubernetes.io/instance": "other"}),
    "StatefulSet selector not in pod labels":
        lambda objs: sluice_sts(objs)["spec"]["selector"]["matchLabels"].update(tier="db"),
    "grace period shorter than the drain deadline":
        lambda objs: sluice_sts(objs)["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=20),
    "data dir not on the volume claim":
        lambda objs: container(objs)["volumeMounts"][0].update(mountPath="/data"),
    "config file key sluice does not know":
        lambda objs: sluice_configmap(objs)["data"].update(
            {"sluice.toml": sluice_configmap(objs)["data"]["sluice.toml"] + "\nshutdown_timout = 10\n"}),
    "--config names a file no ConfigMap provides":
        lambda objs: container(objs)["args"].__setitem__(0, "--config=/etc/sluice/config.toml"),
    "runs as root":
        lambda objs: sluice_sts(objs)["spec"]["template"]["spec"]["securityContext"].update(runAsUser=0),
    "writable root filesystem":
        lambda objs: container(objs)["securityContext"].update(readOnlyRootFilesystem=False),
    "ServiceMonitor on a port the Service lacks":
        lambda objs: find(objs, "ServiceMonitor")["spec"]["endpoints"][0].update(port="metrics"),
    "ServiceMonitor selecting both Services":
        lambda objs: find(objs, "ServiceMonitor")["spec"]["selector"]["matchLabels"].pop("app.kubernetes.io/component"),
    "PrometheusRule drifted from alerts.yaml":
        lambda objs: find(objs, "PrometheusRule")["spec"]["groups"][0]["rules"][0].update(expr="vector(1)"),
}

SCHEMA_PLANTS: dict[str, Callable[[list[dict]], None]] = {
    "misspelt StatefulSet field (strict schema)":
        lambda objs: sluice_sts(objs)["spec"].update(replica=1),
    "string where Kubernetes wants an integer":
        lambda objs: container(objs)["ports"][0].update(containerPort="4566"),
    "kind without any schema":
        lambda objs: objs.append({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
    "unknown ServiceMonitor field (committed CRD schema)":
        lambda objs: find(objs, "ServiceMonitor")["spec"]["endpoints"][0].update(intervall="30s"),
    "bad PrometheusRule duration (committed CRD schema)":
        lambda objs: find(objs, "PrometheusRule")["spec"]["groups"][0]["rules"][0].update({"for": "ten minutes"}),
}


# Cluster mode: run on the cluster renderings with NATS deployed beside Sluice.
CLUSTER_PLANTS: dict[str, Callable[[list[dict]], None]] = {
    "cluster readiness probe on /ready (standbys would leave the Service)":
        lambda objs: container(objs)["readinessProbe"]["httpGet"].update(path="/ready"),
    "node id not the pod's name":
        lambda objs: env_entry(objs, "SLUICE_NODE_ID").update(value="sluice"),
    "advertised URL not under the headless Service":
        lambda objs: env_entry(objs, "SLUICE_ADVERTISE").update(
            value="http://$(POD_NAME).sluice.$(POD_NAMESPACE).svc:4566"),
    "advertised port not the api port":
        lambda objs: env_entry(objs, "SLUICE_ADVERTISE").update(
            value=env_entry(objs, "SLUICE_ADVERTISE")["value"].replace(":4566", ":80")),
    "POD_NAME defined after its use":
        lambda objs: container(objs).update(env=[e for e in container(objs)["env"] if e["name"] != "POD_NAME"]
                                            + [e for e in container(objs)["env"] if e["name"] == "POD_NAME"]),
    "SLUICE_CLUSTER names a NATS server that is not deployed":
        lambda objs: env_entry(objs, "SLUICE_CLUSTER").update(
            value=env_entry(objs, "SLUICE_CLUSTER")["value"].replace("-2.", "-3.")),
    "one Sluice node":
        lambda objs: sluice_sts(objs)["spec"].update(replicas=1),
    "nodes started one by one (OrderedReady)":
        lambda objs: sluice_sts(objs)["spec"].pop("podManagementPolicy"),
    "client Service selecting the NATS pods too":
        lambda objs: find(objs, "Service", client)["spec"].update(
            selector={"app.kubernetes.io/instance": "sluice"}),
    "PodDisruptionBudget blocking every eviction of a node":
        lambda objs: find(objs, "PodDisruptionBudget", lambda o: o["metadata"]["name"] == name_of(sluice_sts(objs)))[
            "spec"].update(maxUnavailable=0),
    "headless Service hiding not-ready pods":
        lambda objs: find(objs, "Service", lambda o: o["kind"] == "Service" and headless(o)
                          and selects(o["spec"]["selector"], sluice_sts(objs)["spec"]["template"]["metadata"]["labels"]))[
            "spec"].update(publishNotReadyAddresses=False),
    "NATS without sync_interval: always":
        lambda objs: edit_nats_conf(objs, "sync_interval: always", "sync_interval: 2m"),
    "NATS with the default max_payload":
        lambda objs: edit_nats_conf(objs, "max_payload: 8MB", "max_payload: 1MB"),
    "NATS route to a server that does not exist":
        lambda objs: edit_nats_conf(objs, "-nats-2.", "-nats-5."),
    "NATS store_dir not on its volume":
        lambda objs: edit_nats_conf(objs, "store_dir: /data", "store_dir: /tmp/js"),
    "one NATS server":
        lambda objs: nats_sts(objs)["spec"].update(replicas=1),
    "NATS image not the version scripts/nats-server pins":
        lambda objs: nats_sts(objs)["spec"]["template"]["spec"]["containers"][0].update(image="nats:latest"),
    "NATS probe on the client port":
        lambda objs: nats_sts(objs)["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"].update(
            port="client"),
}


def cluster_planted_errors(objs: list[dict]) -> list[str]:
    errors = []
    if cross_object_errors(objs, expect_monitoring=False):
        return ["the unmodified objects already fail; planted errors prove nothing"]
    for what, plant in CLUSTER_PLANTS.items():
        mutated = copy.deepcopy(objs)
        plant(mutated)
        if not cross_object_errors(mutated, expect_monitoring=False):
            errors.append(f"cluster-mode rules missed a planted error: {what}")
    return errors


def planted_errors(objs: list[dict]) -> list[str]:
    errors = []
    if cross_object_errors(objs, expect_monitoring=True):
        return ["the unmodified objects already fail; planted errors prove nothing"]
    for what, plant in PLANTS.items():
        mutated = copy.deepcopy(objs)
        plant(mutated)
        if not cross_object_errors(mutated, expect_monitoring=True):
            errors.append(f"cross-object rules missed a planted error: {what}")
    for what, plant in SCHEMA_PLANTS.items():
        mutated = copy.deepcopy(objs)
        plant(mutated)
        if not schema_errors(mutated):
            errors.append(f"schema validation missed a planted error: {what}")
    bad_groups = copy.deepcopy(alert_groups())
    bad_groups[0]["rules"][0]["expr"] = "sluice_queue_oldest_mesage_age_seconds > 900"
    if not alert_file_errors(bad_groups):
        errors.append("alert checks missed an unknown metric name")
    bad_dash = json.loads(DASHBOARD.read_text())
    bad_dash["panels"][1]["targets"][0]["expr"] = "rate(sluice_request_total[5m])"
    if not dashboard_errors(bad_dash):
        errors.append("dashboard checks missed an unknown metric name")
    return errors


# ---- main ---------------------------------------------------------------------------------------

def main() -> int:
    report = Report()
    renderings: dict[str, tuple[list[dict], bool]] = {}

    def render(name: str, fn: Callable[[], list[dict]], monitoring: bool) -> None:
        def step() -> list[str]:
            renderings[name] = (fn(), monitoring)
            return []
        report.run(f"render {name}", step)

    render("kustomize base", lambda: render_kustomize(DEPLOY / "k8s" / "base"), False)
    render("kustomize overlay servicemonitor",
           lambda: render_kustomize(DEPLOY / "k8s" / "overlays" / "servicemonitor"), True)
    render("helm default values", lambda: render_helm({}), False)
    render("helm serviceMonitor+prometheusRule", lambda: render_helm(MONITORING_VALUES), True)
    render("helm every option set", lambda: render_helm(CUSTOM_VALUES), True)
    render("kustomize overlay cluster", lambda: render_kustomize(DEPLOY / "k8s" / "overlays" / "cluster"), False)
    render("helm cluster, NATS deployed", lambda: render_helm(CLUSTER_VALUES), False)
    render("helm cluster, existing NATS, every option set", lambda: render_helm(CLUSTER_CUSTOM_VALUES), True)

    versions = " and ".join(KUBE_VERSIONS)
    for name, (objs, monitoring) in renderings.items():
        kinds = ", ".join(sorted({o["kind"] for o in objs}))
        report.run(f"schema {name}: {len(objs)} objects ({kinds}) vs Kubernetes {versions} strict",
                   lambda objs=objs: schema_errors(objs))
        report.run(f"rules  {name}", lambda objs=objs, m=monitoring: cross_object_errors(objs, m))

    if "kustomize base" in renderings and "helm default values" in renderings:
        report.run("rules  kustomize base and helm defaults deploy the same pod",
                   lambda: parity_errors(renderings["kustomize base"][0], renderings["helm default values"][0]))
    if "kustomize overlay cluster" in renderings and "helm cluster, NATS deployed" in renderings:
        report.run("rules  kustomize overlay cluster and helm cluster.nats.deploy deploy the same pods",
                   lambda: parity_errors(renderings["kustomize overlay cluster"][0],
                                         renderings["helm cluster, NATS deployed"][0]))
    report.run("chart  helm lint --strict (5 value sets)", helm_lint_errors)
    report.run("chart  cluster mode refuses to render without exactly one NATS source", chart_cluster_fail_errors)
    report.run("chart  values.schema.json accepts good and rejects bad values", chart_schema_errors)
    report.run("alerts deploy/prometheus/alerts.yaml", lambda: alert_file_errors(alert_groups()))
    report.run("alerts deploy/grafana/sluice-dashboard.json",
               lambda: dashboard_errors(json.loads(DASHBOARD.read_text())))
    # Run from deploy/ so the config's ignore patterns (relative paths) apply.
    report.run("lint   yamllint deploy/",
               lambda: run_tool([str(VENV_BIN / "yamllint"), "--strict", "-c", ".yamllint.yaml", "."], cwd=DEPLOY))
    report.run("lint   hadolint deploy/docker/Dockerfile",
               lambda: run_tool([str(VENV_BIN / "hadolint"), str(DOCKERFILE)]))
    report.run("lint   Dockerfile agrees with the manifests", dockerfile_errors)

    overlay = renderings.get("kustomize overlay servicemonitor")
    helm_mon = renderings.get("helm serviceMonitor+prometheusRule")
    for name, r in (("kustomize overlay", overlay), ("helm chart", helm_mon)):
        if r is None:
            report.check(f"planted errors in {name}", ["its rendering failed"])
        else:
            report.run(f"planted {len(PLANTS) + len(SCHEMA_PLANTS) + 2} errors in copies of the {name}, "
                       "each caught", lambda objs=r[0]: planted_errors(objs))

    for name in ("kustomize overlay cluster", "helm cluster, NATS deployed"):
        r = renderings.get(name)
        if r is None:
            report.check(f"planted cluster-mode errors in the {name}", ["its rendering failed"])
        else:
            report.run(f"planted {len(CLUSTER_PLANTS)} cluster-mode errors in copies of the {name}, each caught",
                       lambda objs=r[0]: cluster_planted_errors(objs))

    print(f"deploy: {report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
