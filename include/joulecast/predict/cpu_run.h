// A whole training run on a CPU from a layer-wise profile (a "joulecast_profile" with train_step
// predictors, e.g. models/amd-epyc-2c-time.json): `train-estimate` and `sweep` without --gpu.
//
// With B the batch size (the graph's), N the samples per epoch and E the epochs:
//   step        s = the profile's train_step prediction of the graph at batch B: the sum over
//                   its nodes (EstimateGraph, what `predict --mode train_step` prints), or with
//                   frozen parameters EstimateFrozenStep's step (predict/frozen_step.h)
//   steps       n = ceil(N / B) per epoch (the last, partial batch counted as a whole step)
//   epoch       s × n          total  s × n × E          per sample  s / B
// s is in the profile's target unit per training step of the batch: seconds (time_s) or joules
// (energy_j). Time: a time profile's value; an energy profile gives none. Energy: an energy
// profile's value itself; for a time profile E = P × t (J = W × s) with P the power of
// predict/energy_from_time.h PowerFor: `power_w` (--power, "assumed") when given, else the
// profile's measured "power" block ("measured", with its meter); otherwise no energy.
// Not included, and said in every output: data loading, evaluation passes, checkpointing and
// anything else between steps (the profile measured training steps of single operators only).
//
// Throws std::runtime_error: "--epochs must be >= 1, got 0", "--dataset-size must be a finite
// number >= 1, got 0", Profile::SelectMode's "<where>: no train_step predictors in the profile
// (it has: forward)", PowerFor's ("--power must be > 0, got -3"; --power on an energy profile),
// "--freeze: 'layer9' matches no parameter or module scope" (checked first), EstimateFrozenStep's
// (the modes it needs, everything frozen) and EstimateGraph's.
// CheapestCpuRun throws std::invalid_argument on an empty list; CheckSweepProfiles as it says.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/graph/graph.h"
#include "joulecast/predict/energy_from_time.h"
#include "joulecast/predict/profile.h"

namespace joulecast {

// What the run leaves out, in every output of both commands.
extern const char* const kCpuRunCaveat;

struct CpuRunOptions {
  std::vector<std::string> frozen;          // parameters or module scopes not trained
  std::optional<double> samples_per_epoch;  // N; none: step and per-sample figures only
  std::int64_t epochs = 1;                  // E
  std::optional<double> power_w;            // --power (W), for a time profile
};

struct CpuRunEstimate {
  std::string network, profile, target, dtype;  // profile name, its target and dtype
  std::int64_t batch_size = 1, epochs = 1;
  std::vector<std::string> frozen;
  double step = 0;  // the profile's target unit per training step of the batch
  double parameters = 0, trainable_parameters = 0;
  // With frozen parameters: EstimateFrozenStep's same rule with nothing frozen and the saving.
  std::optional<double> full_step, saving;
  std::optional<double> samples_per_epoch, steps_per_epoch;
  std::optional<PowerAssumption> power;  // when energy = power × time
  // Seconds and joules; none where unknown (no time from an energy profile, no energy without a
  // power, no epoch or total without N).
  std::optional<double> step_s, per_sample_s, epoch_s, total_s;
  std::optional<double> step_j, per_sample_j, epoch_j, total_j;

  // {"network", "profile", "predicts": target, "dtype", "batch_size", "epochs", "frozen",
  //  "samples_per_epoch", "steps_per_epoch", "step_time_s", "time_per_sample_s",
  //  "epoch_time_s", "total_time_s", "step_energy_j", "energy_per_sample_j", "epoch_energy_j",
  //  "total_energy_j", "total_energy_kwh" (null where unknown), "energy": "predicted" |
  //  "power x time" | null, "power": {"watts", "source": "measured" | "assumed", "detail"} | null,
  //  "freeze": {"full_step_s"|"full_step_j", "saving"} | null, "parameters",
  //  "trainable_parameters", "caveat"}
  nlohmann::json ToJson() const;
};

// The run of `g` (at its batch size) with `profile` (any active mode; it needs train_step, and
// forward too with frozen parameters). `where` names the profile in errors (its path).
CpuRunEstimate EstimateCpuRun(const Profile& profile, const graph::Graph& g,
                              const CpuRunOptions& options, const std::string& where);

// Which of several runs is cheapest: the lowest total energy when every run has one, else the
// lowest energy per sample when every run has energy, else the lowest total time when every run
// has one, else the lowest time per sample. `by` is the ToJson key compared; the first of equal
// runs wins.
struct CheapestRun {
  std::size_t index = 0;
  std::string by;
};
CheapestRun CheapestCpuRun(const std::vector<CpuRunEstimate>& runs);
// CheapestRun::by in words: "total energy", "energy per sample", "total time", "time per sample"
// (the key itself for any other).
std::string CheapestByText(const std::string& by);

// The profiles of one sweep (`paths[i]` is where profiles[i] was read): all of one machine, one
// per dtype, all of one target. Throws std::runtime_error, in this order
//   "--model: a.json describes CPU 'AMD EPYC' but b.json 'Intel Xeon': the profiles of one sweep
//    describe one machine" (hardware.cpu, compared where both have it)
//   "--model: a.json and b.json both predict float32 runs: give one profile per dtype"
//   "--model: a.json predicts time_s but b.json energy_j: give profiles of one target".
void CheckSweepProfiles(const std::vector<Profile>& profiles,
                        const std::vector<std::string>& paths);

}  // namespace joulecast
