#!/usr/bin/env bash
# Offline checks of infra/: checkov on Terraform, Kubernetes and the Dockerfile, and a parse
# of every .tf file with python-hcl2. Run: `make infra-check` (installs `.[infra]` into
# INFRA_VENV, outside the project's .venv, so `make test` never installs checkov).
set -euo pipefail
cd "$(dirname "$0")/.."
INFRA_VENV="${INFRA_VENV:-/tmp/infra-venv}"
PY="$INFRA_VENV/bin/python"
if ! "$PY" -c 'import checkov, hcl2' 2>/dev/null; then
  python3.11 -m venv "$INFRA_VENV"
  "$INFRA_VENV/bin/pip" install --quiet 'checkov>=3.2' 'python-hcl2>=4'
fi
# No network: no Prisma Cloud guidelines download, no update check.
export CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false BC_SKIP_MAPPING=TRUE
CHECKOV=("$INFRA_VENV/bin/checkov" --quiet --compact --skip-download)

echo "== python-hcl2: parse infra/terraform/*.tf"
"$PY" - <<'PY'
import pathlib, sys
import hcl2
bad = 0
for path in sorted(pathlib.Path("infra/terraform").glob("*.tf")):
    try:
        with path.open() as handle:
            hcl2.load(handle)
        print(f"  ok  {path}")
    except Exception as error:  # any parse error fails the check
        bad += 1
        print(f"  FAIL {path}: {error}")
sys.exit(1 if bad else 0)
PY
status=0
echo "== checkov: terraform"
"${CHECKOV[@]}" -d infra/terraform --framework terraform || status=1
echo "== checkov: kubernetes"
"${CHECKOV[@]}" -d infra/k8s --framework kubernetes || status=1
echo "== checkov: dockerfile"
"${CHECKOV[@]}" -f infra/docker/Dockerfile --framework dockerfile || status=1
exit $status
