#!/usr/bin/env bash
# Tear a deployment down (deploy/README.md section 9): `terraform destroy` of deploy/terraform, guarded, then what
# remains. Usage: scripts/teardown.sh PROJECT_ID
# The guard: the Terraform state bucket (the gcs backend's bucket in deploy/terraform/backend.tf, else
# <project>-tfstate) must not be a resource of this state; destroying it mid-destroy would lose the state. This
# script never deletes the state bucket: that is the operator's last step, by hand.
set -euo pipefail

PROJECT=${1:?usage: scripts/teardown.sh PROJECT_ID}
TF_DIR="$(cd "$(dirname "$0")/.." && pwd)/deploy/terraform"
tf() { terraform -chdir="$TF_DIR" "$@"; }

STATE_BUCKET="$PROJECT-tfstate"
if [ -f "$TF_DIR/backend.tf" ]; then
    named=$(sed -n 's/^[[:space:]]*bucket[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$TF_DIR/backend.tf" | head -n 1)
    [ -n "$named" ] && STATE_BUCKET=$named
fi

managed=$(tf state list 2>/dev/null | grep '^google_storage_bucket\.' || true)
for address in $managed; do
    name=$(tf state show "$address" | sed -n 's/^[[:space:]]*name[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' | head -n 1)
    if [ "$name" = "$STATE_BUCKET" ]; then
        echo "teardown: $address is the Terraform state bucket ($STATE_BUCKET): refusing to destroy it with the state" >&2
        echo "teardown: move it out of the state first (terraform state rm $address) and run again" >&2
        exit 1
    fi
done

echo "teardown: destroying every resource of deploy/terraform in $PROJECT (state bucket $STATE_BUCKET is kept)"
tf destroy

cat <<EOT

teardown: done. What remains (deploy/README.md section 9):
  - Firestore (default) database and its data (delete protection on); its indexes and TTL policies are gone
  - Identity Platform and every operator account (python -m scripts.operators list; the Firebase console)
  - Firebase on the project, the enabled APIs
  - Artifact Registry gcf-artifacts, the gcf-v2-sources-* staging bucket, Cloud Build and request logs
  - the Terraform state bucket gs://$STATE_BUCKET (delete it last, once 'terraform state list' prints nothing:
      gcloud storage rm --recursive --all-versions "gs://$STATE_BUCKET")
EOT
tf state list || true
