# Per-network MAPE (over its batch sizes) of profiles on whole-network records, as a markdown table:
#   python3 tools/network_errors.py RECORDS.jsonl NAME PROFILE [NAME PROFILE ...]
# RECORDS may be a comma list of files. With SIGNED=1 in the environment the table holds the mean
# signed error (%, prediction / measurement - 1: negative when the profile under-predicts).
# Predictions by `build/joulecast predict ARCH --model PROFILE -b B --mode MODE --dtype D
# [--seq-len S] --json` (the record's mode, dtype and sequence length: a profile of another dtype
# is predict's error, not a float32 answer), run from the repository root.
import collections
import json
import os
import subprocess
import sys

recs = [json.loads(l) for f in sys.argv[1].split(',') for l in open(f)]
names = sys.argv[2::2]
models = sys.argv[3::2]
err = {m: collections.defaultdict(list) for m in models}
allerr = {m: [] for m in models}
for r in recs:
    for m in models:
        seq = r.get('context', {}).get('seq_len')
        out = subprocess.run(['build/joulecast', 'predict', r['type'], '--model', m, '-b',
                              str(r['batch_size']), '--mode', r.get('mode', 'forward'),
                              '--dtype', r.get('dtype', 'float32'), '--json'] +
                             (['--seq-len', str(seq)] if seq else []),
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"network_errors: {r['type']} b{r['batch_size']}: {out.stderr.strip()}")
        p = json.loads(out.stdout)['total_s']
        e = (p / r['duration_s'] - 1) * 100
        if os.environ.get('SIGNED') != '1':
            e = abs(e)
        err[m][r['type']].append(e)
        allerr[m].append(e)
print('| network (batches) | ' + ' | '.join(names) + ' |')
print('|---|' + '---:|' * len(names))
for net in err[models[0]]:
    n = len(err[models[0]][net])
    print(f'| {net} ({n}) | ' + ' | '.join(f'{sum(err[m][net]) / n:.1f}' for m in models) + ' |')
print(f'| **all {len(recs)} records** | ' +
      ' | '.join(f'**{sum(allerr[m]) / len(allerr[m]):.1f}**' for m in models) + ' |')
