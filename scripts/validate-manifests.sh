#!/usr/bin/env bash
# Validates every manifest under deploy/ against a named Kubernetes version with
# kubernetes-validate (strict: unknown fields fail). Kustomization files and the KubeRay
# RayCluster (a CRD, no schema in the tool) are reported as warnings by the tool.
set -euo pipefail
cd "$(dirname "$0")/.."
K8S_VERSION="${K8S_VERSION:-1.33.0}"
mapfile -t files < <(find deploy -name '*.yaml' | sort)
echo "[manifests] validating ${#files[@]} files against Kubernetes $K8S_VERSION"
.venv/bin/kubernetes-validate -k "$K8S_VERSION" --strict "${files[@]}"
