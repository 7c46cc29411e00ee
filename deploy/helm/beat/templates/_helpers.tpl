{{/* Names. */}}
{{- define "beat.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "beat.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "beat.headless" -}}
{{- printf "%s-headless" (include "beat.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels. */}}
{{- define "beat.selectorLabels" -}}
app.kubernetes.io/name: {{ include "beat.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{- define "beat.labels" -}}
{{ include "beat.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: consensus
app.kubernetes.io/part-of: beat
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* f = floor((n - 1) / 3): the members that may fail. */}}
{{- define "beat.f" -}}
{{- div (sub (int .Values.replicaCount) 1) 3 -}}
{{- end -}}

{{/* Every member's consensus address, by id: <pod>.<headless service>.<namespace>.svc.<domain>:<port>. */}}
{{- define "beat.peers" -}}
{{- $peers := list -}}
{{- range $i := until (int .Values.replicaCount) -}}
{{- $peers = append $peers (printf "%s-%d.%s.%s.svc.%s:%d" (include "beat.fullname" $) $i (include "beat.headless" $) $.Release.Namespace $.Values.clusterDomain (int $.Values.ports.consensus)) -}}
{{- end -}}
{{- join "," $peers -}}
{{- end -}}

{{/* The committee size must match the keys: fail with what to do. */}}
{{- define "beat.checkCommittee" -}}
{{- $n := int .Values.replicaCount -}}
{{- if not .Values.keys.existingSecret -}}
{{- fail "keys.existingSecret is required: deal the committee's keys with `beat keygen --nodes <n> --out keys/`, then `kubectl create secret generic beat-keys --from-file=keys/` and set keys.existingSecret=beat-keys (deploy/README.md)" -}}
{{- end -}}
{{- if ne $n (int .Values.keys.committeeSize) -}}
{{- fail (printf "replicaCount=%d but keys.committeeSize=%d: the committee's threshold keys are dealt for exactly n members, so n cannot change in place (membership change does not exist yet). To run %d members: deal new keys with `beat keygen --nodes %d`, store them in a new Secret, then uninstall this release, delete its PVCs (data-%s-*) and install again with replicaCount=%d, keys.committeeSize=%d and keys.existingSecret=<the new Secret> — a new committee with an empty log (deploy/README.md, \"Changing the committee size\")" $n (int .Values.keys.committeeSize) $n $n (include "beat.fullname" .) $n $n) -}}
{{- end -}}
{{- if and .Values.serviceMonitor.enabled .Values.networkPolicy.enabled (not .Values.networkPolicy.allowFromNamespaces) -}}
{{- fail "serviceMonitor.enabled with networkPolicy.enabled: set networkPolicy.allowFromNamespaces to the namespace Prometheus runs in (e.g. --set networkPolicy.allowFromNamespaces={monitoring}), or the policy keeps it from scraping the members" -}}
{{- end -}}
{{- $secret := lookup "v1" "Secret" .Release.Namespace .Values.keys.existingSecret -}}
{{- if $secret -}}
{{- $cluster := index $secret.data "cluster.toml" | default "" | b64dec -}}
{{- $line := regexFind "(?m)^n = [0-9]+" $cluster -}}
{{- if not $line -}}
{{- fail (printf "Secret %s has no cluster.toml with the committee size (n = ...): create it from the whole `beat keygen --out` directory" .Values.keys.existingSecret) -}}
{{- end -}}
{{- $keysN := int (trimPrefix "n = " $line) -}}
{{- if ne $keysN $n -}}
{{- fail (printf "replicaCount=%d but the keys in Secret %s are for a committee of %d: n cannot change in place. Deal new keys for %d members into a new Secret and reinstall (deploy/README.md, \"Changing the committee size\")" $n .Values.keys.existingSecret $keysN $n) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The image: repository:tag, or repository@digest when image.digest is set. */}}
{{- define "beat.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}
