// Online estimators: the energy and time of a whole training run extrapolated from a partial
// per-epoch log (io/training_log.h), and the pretraining break-even. After the online estimators
// of "Energy consumption of neural networks: estimation ..." as issue 5 states them:
//
//   epoch energy        E_k = mean(power samples of epoch k) [W] × t_k [s] / 3600   (Wh)
//   power-based         E   = P̄_w × t
//   epoch-energy-based  E   = E_w × s / w + E_u
//
// with these definitions (our reading; the issue gives the formulas without their terms):
//   N    total epochs of the run (--epochs), n epochs logged so far (n <= N)
//   K    stabilisation epoch: epochs 1..K are warm-up (start-up, caches, autotuning) and never
//        part of the window; default 10, or detected (DetectStableEpoch)
//   w    window length in epochs, default 5. The window is the LAST w logged epochs,
//        n−w+1 .. n, and must lie after K (n >= K + w). With n = K + w it is the w epochs right
//        after stabilisation; with a longer log it is the most recent w epochs.
//   E_w  energy of the window (J), T_w its time (s), P̄_w = E_w / T_w its time-weighted mean power
//   s    remaining epochs, N − n
//   E_u  energy used so far: the sum over all n logged epochs (warm-up included), t_u their time
//   t    predicted total time, t_u + s × T_w / w (the window's mean epoch time for what remains)
// So the epoch-energy-based estimate keeps the measured energy of the epochs done and adds the
// window's mean epoch energy for each remaining one; the power-based estimate applies the
// window's mean power to the whole predicted time, warm-up included. Both coincide when the
// warm-up ran at the window's power. Energies in J (Wh = J / 3600), times in s.
//
// Stabilisation detection (DetectStableEpoch): the smallest K >= 1 such that the coefficient of
// variation (population standard deviation / mean) of the epoch durations K+1 .. K+w is at most
// cv_threshold (default 0.05). Epoch 1 is always warm-up. Durations only, so the rule also works
// on time-only logs.
//
// Break-even of pretraining (PretrainingBreakeven): training encoder and classifier from scratch
// costs E_enc+cls per downstream task; pretraining the encoder once costs E_enc, after which each
// task costs E_cls (the classifier on the frozen encoder). For n tasks the two strategies cost
// n × E_enc+cls and E_enc + n × E_cls, equal at x = E_enc / (E_enc+cls − E_cls): pretraining pays
// off for more than x downstream tasks (the first whole number is floor(x) + 1).
//
// Errors (std::runtime_error), one line each: total epochs < 1 ("--epochs must be >= 1, got 0"),
// fewer than logged ("--epochs 20 is fewer than the 30 epochs already in LOG.csv"), window < 1,
// stabilisation epoch < 0, a log too short for K and w ("LOG.csv: 12 epochs logged; the window
// of 5 epochs after stabilisation epoch 10 needs at least 15"), no stable window found by
// detection, totals that overflow a double ("LOG.csv: the durations or energies are too large:
// the extrapolated totals over 100 epochs overflow a double"), and for the break-even non-finite or non-positive energies or E_enc+cls <= E_cls
// ("--e-enc-cls 5 J is not above --e-cls 8 J: per task, the pretrained encoder saves nothing, so
// pretraining never pays off"), and an x that overflows a double ("x = 1e+300 J / 1e-300 J
// overflows a double").
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "joulecast/io/training_log.h"

namespace joulecast {

struct OnlineOptions {
  std::optional<int> stable_epoch = 10;  // K; nullopt = detect with DetectStableEpoch
  int window = 5;                        // w, epochs
  double cv_threshold = 0.05;            // detection: largest coefficient of variation accepted
};

struct EpochEnergy {
  double j = 0, wh = 0;
};

// E_k from the power samples taken during one epoch (W) and its duration (s). Throws for no
// samples, a non-finite or negative sample, or a duration that is not > 0.
EpochEnergy EpochEnergyFromPower(const std::vector<double>& power_w, double duration_s);

// See above. Throws when no K in 1 .. n−w qualifies (message names the smallest CV found).
int DetectStableEpoch(const TrainingLog& log, int window, double cv_threshold);

struct Extrapolation {
  int total_epochs = 0, logged_epochs = 0, remaining_epochs = 0, stable_epoch = 0, window = 0;
  int window_first = 0, window_last = 0;  // epochs of the window
  bool stable_epoch_detected = false;
  double used_time_s = 0, window_time_s = 0, predicted_time_s = 0;
  // Set when the log has energy (energy_j or power_w).
  std::optional<double> used_energy_j, window_energy_j, window_power_w;
  std::optional<double> power_based_j, epoch_based_j;
  nlohmann::json ToJson() const;  // the fields above, energies also in Wh, null when absent
};

Extrapolation Extrapolate(const TrainingLog& log, int total_epochs,
                          const OnlineOptions& options = {});

struct Breakeven {
  double tasks = 0;  // x
  // floor(x) + 1; unset when that does not fit a long long (x >= 2^63 − 1: in practice, never).
  std::optional<long long> first_paying_task;
};

Breakeven PretrainingBreakeven(double e_enc_j, double e_enc_cls_j, double e_cls_j);

}  // namespace joulecast
