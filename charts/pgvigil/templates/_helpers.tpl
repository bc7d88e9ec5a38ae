{{/* The name of every object of a release: pgvigil-controller for release "pgvigil". */}}
{{- define "pgvigil.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains "pgvigil" .Release.Name -}}
{{- printf "%s-controller" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-pgvigil-controller" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "pgvigil.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "pgvigil.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: set the name of an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Selector labels: stable across upgrades. */}}
{{- define "pgvigil.selectorLabels" -}}
app.kubernetes.io/name: pgvigil
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "pgvigil.labels" -}}
{{ include "pgvigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "pgvigil.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default (printf "%s-pg15" .Chart.AppVersion) .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The controller's rules (KUBERNETES.md §8): no pods/exec, no RBAC verbs, no
Secret writes. Nodes are read (out-of-service taint) only with the ClusterRole.
*/}}
{{- define "pgvigil.rules" -}}
- {apiGroups: [pgvigil.io], resources: [postgresclusters], verbs: [get, list, watch]}
- {apiGroups: [pgvigil.io], resources: [postgresclusters/status], verbs: [get, update, patch]}
# blockOwnerDeletion on the owned objects' ownerReferences
- {apiGroups: [pgvigil.io], resources: [postgresclusters/finalizers], verbs: [update]}
- {apiGroups: [apps], resources: [statefulsets], verbs: [get, list, watch, create, update, patch, delete]}
- {apiGroups: [""], resources: [pods], verbs: [get, list, watch, patch, delete]}
- {apiGroups: [""], resources: [services, configmaps], verbs: [get, list, watch, create, update, patch, delete]}
- {apiGroups: [""], resources: [secrets, persistentvolumeclaims], verbs: [get, list, watch]}
- {apiGroups: [policy], resources: [poddisruptionbudgets], verbs: [get, list, watch, create, update, patch, delete]}
- {apiGroups: [events.k8s.io], resources: [events], verbs: [create, patch]}
{{- end -}}
