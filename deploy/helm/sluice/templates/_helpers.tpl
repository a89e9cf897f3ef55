{{/*
Chart name, overridable with nameOverride.
*/}}
{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/*
Name of every object: the release name, or release-chart when the release name does not
already contain the chart's. 40 characters leave room for the "-headless" suffix and the
StatefulSet's controller-revision hash label within Kubernetes' 63-character limit.
*/}}
{{- define "sluice.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Labels that select the pod. They are immutable on a StatefulSet: never add to them.
*/}}
{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels of every object.
*/}}
{{- define "sluice.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sluice
{{- end -}}

{{/*
The `sluice serve --config` TOML file. Only keys with a value are written, so sluice's own
defaults apply to the rest. Strings are restricted by values.schema.json to characters that
quote the same way in Go and in TOML.
*/}}
{{- define "sluice.configToml" -}}
{{- with .Values.config -}}
{{- if .durability }}
durability = {{ .durability | quote }}
{{- end }}
{{- if .logFormat }}
log_format = {{ .logFormat | quote }}
{{- end }}
{{- if .logLevel }}
log_level = {{ .logLevel | quote }}
{{- end }}
{{- if .region }}
region = {{ .region | quote }}
{{- end }}
{{- if .accountId }}
account_id = {{ .accountId | quote }}
{{- end }}
{{- if .publicUrl }}
public_url = {{ .publicUrl | quote }}
{{- end }}
{{- if .maxConnections }}
max_connections = {{ .maxConnections | int64 }}
{{- end }}
{{- if .maxBodyBytes }}
max_body_bytes = {{ .maxBodyBytes | int64 }}
{{- end }}
{{- if .headerReadTimeoutSeconds }}
header_read_timeout = {{ .headerReadTimeoutSeconds | int64 }}
{{- end }}
{{- if not (kindIs "invalid" .metricsMaxResources) }}
metrics_max_resources = {{ .metricsMaxResources | int64 }}
{{- end }}
shutdown_timeout = {{ include "sluice.shutdownTimeout" $ }}
{{- end }}
{{- end -}}

{{/*
Drain deadline in seconds; 30 is sluice's own default.
*/}}
{{- define "sluice.shutdownTimeout" -}}
{{- if kindIs "invalid" .Values.config.shutdownTimeoutSeconds -}}
30
{{- else -}}
{{- .Values.config.shutdownTimeoutSeconds | int64 -}}
{{- end -}}
{{- end -}}

{{/*
Cluster mode: name of the NATS StatefulSet and of its headless Service (cluster.nats.deploy).
*/}}
{{- define "sluice.natsName" -}}
{{- include "sluice.fullname" . }}-nats
{{- end -}}

{{/*
Labels that select the NATS pods: a different app.kubernetes.io/name from Sluice's, so neither
the client Service nor the PodDisruptionBudget of Sluice ever selects a NATS pod.
*/}}
{{- define "sluice.natsSelectorLabels" -}}
app.kubernetes.io/name: nats
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Cluster mode: the comma-separated NATS URLs of SLUICE_CLUSTER, either cluster.natsUrls or those
of the NATS pods the chart deploys ($(POD_NAMESPACE) is expanded by the kubelet). Exactly one
of the two must be given.
*/}}
{{- define "sluice.natsUrls" -}}
{{- $c := .Values.cluster -}}
{{- if and $c.natsUrls $c.nats.deploy -}}
{{- fail "cluster: set either cluster.natsUrls (an existing NATS) or cluster.nats.deploy=true, not both" -}}
{{- else if $c.natsUrls -}}
{{- $c.natsUrls -}}
{{- else if $c.nats.deploy -}}
{{- $name := include "sluice.natsName" . -}}
{{- $urls := list -}}
{{- range $i := until 3 -}}
{{- $urls = append $urls (printf "nats://%s-%d.%s.$(POD_NAMESPACE).svc:4222" $name $i $name) -}}
{{- end -}}
{{- join "," $urls -}}
{{- else -}}
{{- fail "cluster.enabled needs a NATS JetStream cluster: set cluster.natsUrls, or cluster.nats.deploy=true" -}}
{{- end -}}
{{- end -}}

{{/*
Cluster mode: the config file of the NATS servers the chart deploys (cluster.nats.deploy).
*/}}
{{- define "sluice.natsConf" -}}
{{- $name := include "sluice.natsName" . -}}
# NATS server config written by the Sluice Helm chart (cluster.nats.deploy).
# $POD_NAME comes from the environment: the pod's name, <release>-nats-0 to -2.
server_name: $POD_NAME
listen: 0.0.0.0:4222
http: 0.0.0.0:8222
# Read by the preStop hook, which puts the server in lame duck mode before SIGTERM.
pid_file: /var/run/nats/nats.pid
lame_duck_duration: 30s
lame_duck_grace_period: 10s
# Sluice's log carries one group of writes per message: a 5 MiB PutRecords must fit.
max_payload: 8MB
jetstream {
  store_dir: /data
  # fsync before every acknowledgement (JetStream's default syncs every 2 minutes, which
  # lost acknowledged writes in Jepsen's NATS 2.12.1 analysis): Sluice acknowledges a write
  # once JetStream has it, and promises that it survives.
  sync_interval: always
}
cluster {
  name: sluice
  listen: 0.0.0.0:6222
  # Clients are given every server's name; do not gossip pod IPs to them.
  no_advertise: true
  routes: [
    {{- range $i := until 3 }}
    nats://{{ $name }}-{{ $i }}.{{ $name }}.{{ $.Release.Namespace }}.svc:6222
    {{- end }}
  ]
}
{{- end -}}

{{/*
Labels of the NATS objects: Sluice's, with NATS's own name, version and component.
*/}}
{{- define "sluice.natsLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sluice.natsSelectorLabels" . }}
app.kubernetes.io/version: {{ .Values.cluster.nats.image.tag | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sluice
app.kubernetes.io/component: nats
{{- end -}}
