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
