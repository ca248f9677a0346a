#!/usr/bin/env bash
# The short training runs of "The architectures, measured" (book/05_architectures_measured.md).
# Every model gets the same budget: the first 1,024 Fashion-MNIST training images, one epoch,
# batch 32, AdamW at 1e-3 with a cosine schedule, one CPU thread per run. Then each run is
# scored on the first 2,000 test images and `cvbook compare` tabulates them.
# Run from the repository root:  bash book/results/architectures/run_all.sh [MODEL ...]
set -euo pipefail
OUT=book/results/architectures
MODELS=("${@:-tiniest alexnet vgg16 resnet18 densenet121 efficientnet_b0 vit_s16 tiny_resnet}")
export OMP_NUM_THREADS=1
for model in ${MODELS[@]}; do
    cvbook train --model "$model" --limit-train 1024 --epochs 1 --batch-size 32 \
        --optimizer adamw --lr 1e-3 --seed 0 --device cpu --no-progress --out-dir "$OUT"
    cvbook test --model "$model" --limit 2000 --no-plot --out-dir "$OUT"
done
cvbook compare --out-dir "$OUT"
# the machine and its load, for the page to show beside the times
{
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) cores"
    echo "load at the end of the runs: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
    echo "torch: $(python -c 'import torch; print(torch.__version__)')"
} > "$OUT/machine.txt"
