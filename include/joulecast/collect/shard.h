// Sharding a collection campaign over independent processes (a Slurm job array, several
// machines): `--shard K/N` makes a process measure only the configurations of shard K out of N.
//
// Shards are 0-based: K runs from 0 to N-1. Configuration i (its position in the campaign's
// deterministic enumeration: sample index for --layer, operation or network order otherwise) belongs
// to shard i mod N, so shards interleave and each gets a fair share of small and large
// configurations. Together the N shards cover every configuration exactly once.
//
// Slurm: with `#SBATCH --array=0-7`, SLURM_ARRAY_TASK_ID runs 0..7 and SLURM_ARRAY_TASK_COUNT is 8,
// so `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT` is right as it stands. An array spec
// that starts at 1 (`--array=1-8`) needs `--shard $((SLURM_ARRAY_TASK_ID - 1))/8`.
#pragma once

#include <cstdint>
#include <string>

namespace joulecast {

struct Shard {
  std::int64_t index = 0;  // K, 0-based
  std::int64_t count = 1;  // N
  // True when configuration `i` (0-based position in the enumeration) belongs to this shard.
  bool Owns(std::int64_t i) const { return i % count == index; }
  // "K/N"
  std::string ToString() const;
};

// Parses "K/N". Throws std::invalid_argument naming the option, e.g.
//   "--shard: expected K/N with 0 <= K < N, got '8/8'"
// for a missing slash, non-digits, signs, spaces, N = 0, K >= N or numbers beyond 2^31.
Shard ParseShard(const std::string& text);

}  // namespace joulecast
