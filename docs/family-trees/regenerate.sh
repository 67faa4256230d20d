#!/usr/bin/env bash
# Regenerates every result behind docs/family-trees.md (about 15 minutes on 2 cores), then
# prints each table as the document holds it (tests/test_readme.py checks they agree).
set -euo pipefail
cd "$(dirname "$0")/../.."
R=docs/results
F=docs/family-trees

# 1. The printed recipe under every reading of what the sources leave open
backprop86 sweep family-trees $F/unhalved.toml $F/decay-l2.toml $F/biases-undecayed.toml \
    $F/no-biases.toml $F/no-decay.toml $F/eps-0.001.toml $F/per-pattern.toml \
    $F/per-pattern-sweep-decay.toml \
    --seeds 40 --json $R/family-trees-readings.json > $R/family-trees-readings.txt
# 2. How far from the printed recipe a net must go to train: initial range × second-phase ε
backprop86 sweep family-trees --seeds 40 --grid init_scale=0.3,1.5 \
    --grid lr_schedule=20:0.01,20:0.1,20:0.2 \
    --json $R/family-trees-deviations.json > $R/family-trees-deviations.txt
# 3. The recipe that trains, under the readings of biases, their decay and the held-out draw
backprop86 sweep family-trees-tuned $F/tuned-biases-undecayed.toml $F/tuned-no-biases.toml \
    --seeds 40 --grid pool=single,apart,all \
    --json $R/family-trees-tuned-readings.json > $R/family-trees-tuned-readings.txt
# 4. What "performed correctly on all the training examples" means
backprop86 sweep family-trees-tuned $F/tuned-strict.toml --seeds 40 \
    --json $R/family-trees-criterion.json > $R/family-trees-criterion.txt
# 5. The best held-out reading of 3, confirmed on 200 seeds it was not chosen on
backprop86 sweep $F/tuned-fresh-seeds.toml --seeds 200 --grid pool=single,all \
    --json $R/family-trees-confirm.json > $R/family-trees-confirm.txt

for name in readings deviations tuned-readings criterion confirm; do
    echo "<!-- sweep table: $R/family-trees-$name.json -->"
    backprop86 sweep --table $R/family-trees-$name.json
    echo "<!-- end of sweep table -->"
done
