#!/usr/bin/env bash
# Rebuild what git does not keep of the measured sweeps: report.html, junit.xml and plots for every
# results folder under reports/ (results.json, or results.json.gz for the large old sweeps).
# Audio samples are not rebuilt: they stay with the sweep that made them (or in its MLflow run).
# Usage: bash reports/rebuild.sh   (from the repository root)
set -euo pipefail
py=${PYTHON:-.venv/bin/python}
find reports -name 'results.json' -o -name 'results.json.gz' | grep -v '/part[0-9]*/' | while read -r file; do
  "$py" -m harness report "$(dirname "$file")" >/dev/null && echo "rebuilt $(dirname "$file")"
done
