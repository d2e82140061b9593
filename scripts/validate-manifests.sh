#!/usr/bin/env bash
# Validates every manifest under deploy/ against a named Kubernetes version with
# kubernetes-validate (strict: unknown fields fail). Kustomization files and the KubeRay
# RayCluster (a CRD, no schema in the tool) are reported as warnings by the tool.
LOG_TAG=manifests
. "$(dirname "$0")/lib.sh"
K8S_VERSION="${K8S_VERSION:-1.33.0}"
mapfile -t files < <(find deploy -name '*.yaml' | sort)
log "validating ${#files[@]} files against Kubernetes $K8S_VERSION"
"$VENV/bin/kubernetes-validate" -k "$K8S_VERSION" --strict "${files[@]}"
