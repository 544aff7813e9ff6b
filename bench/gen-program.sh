#!/usr/bin/env bash
# Prints the benchmark's program document (SPEC §12) on stdout:
# program 1 with 100 active partners, 100 text-link ads, one template term
# without payouts and one contract per partner, i.e. 10,000 distinct links
# /c/{partner}/{ad}/1 that all redirect to https://shop.bench.test/.
set -euo pipefail

partners=${1:-100}
ads=${2:-100}

join() { local IFS=,; echo "$*"; }

p=(); c=(); a=()
for ((i = 1; i <= partners; i++)); do
    p+=("{\"id\":$i,\"name\":\"Partner $i\",\"status\":\"ACTIVE\"}")
    c+=("{\"partner\":$i,\"template_terms\":1,\"start\":\"2020-01-01T00:00:00Z\"}")
done
for ((i = 1; i <= ads; i++)); do
    a+=("{\"id\":$i,\"name\":\"Ad $i\",\"type\":\"TEXT_LINK\"}")
done

cat <<JSON
{
  "program": {
    "id": 1,
    "name": "Bench program",
    "currency": "USD",
    "time_zone": "UTC",
    "default_landing_page": "https://shop.bench.test/",
    "permitted_domains": ["shop.bench.test"],
    "deep_linking": true
  },
  "partners": [$(join "${p[@]}")],
  "ads": [$(join "${a[@]}")],
  "template_terms": [{"id": 1, "name": "Standard", "event_payouts": []}],
  "contracts": [$(join "${c[@]}")]
}
JSON
