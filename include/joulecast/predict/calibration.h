// Calibrating a profile of another machine to this one (joulecast calibrate): which layer
// configurations to measure here, most informative first, and the calibrated profile fitted from
// what was measured.
//
// Plan (PlanCalibration), in order:
//   1. the distinct layers of the `for` networks (ConfigsFromArchitecture at each batch size),
//      largest base prediction first: what the user will predict;
//   2. random configurations (the collector's sampler, collect/config_sampler.h, seeded) of every
//      sampleable layer type the base profile predicts in the mode, in `rounds` rounds of `pool`
//      draws per type (less those too costly to measure: max_config_seconds), each round put in
//      farthest-point order in the base recipe's standardised feature space (each next one the
//      draw farthest from those already chosen, starting from the one nearest the centre) after
//      the round before it (so a plan of more rounds extends one of fewer), and the types
//      interleaved by share: a type's share is the mean over the `weight` networks (each at batch 1
//      and 8) of its fraction of the base's predicted total, at least min_share; the next
//      configuration comes from the type whose count / share is lowest (stride scheduling), so that
//      the types that carry the time get the most measurements and every type some.
// Whatever the budget allows of this list is measured: a shorter calibration is a prefix.
// With max_configs > 0 the plan stops after that many configurations, and a type's rounds are
// drawn only when the interleaving reaches them: a plan of n is the first n of the whole plan, at
// a fraction of its cost (the whole plan of a 30-type base is about 50,000 draws, each predicted
// by the base, and a calibration of minutes measures a few hundred).
//
// Fit (CalibrateProfile): for each mode of the records, each base predictor of that mode gets a
// transfer (predict/transfer.h) fitted on the records of its layer type (u from the base model,
// x its recipe's features, t = ln(target / normaliser)), or, with min_refit_records records or
// more, a predictor fitted on them alone when its CV MAPE is lower, both at their MAPE-optimal
// level (the transfers' c0 is that factor; the refit, fitted by least squares in logs, is scored
// and kept times the factor that minimises its out-of-fold MAPE, profile_fit's
// cv.mape_optimal_level, as a "ratio" transfer), or a residual (a predictor of this machine's
// log ratio to the base on top of the base, CalibrateOptions::residual) when it beats both, or a
// blend of transfer and refit (BestBlend) when it beats all three by more than 2 %; every MAPE of
// that choice is weighted per record by how much of the weight networks' predicted time the record
// stands for (NetworkRecordWeights), so that the choice follows the layers networks are made of
// rather than the sampler's spread; a type with fewer than min_type_records records (or none) gets
// the pooled transfer: a "ratio" fitted on every record of the mode (the geometric mean factor;
// recipes differ between types, and a slope across types would fit their different efficiency
// levels). The profile keeps the base's models, takes this machine's fingerprint from the records
// (predict/hardware.h), the target measured (a time profile also the records' mean power when they
// had a meter: predict/energy_from_time.h), and records in data.calibration the base (name, target,
// hardware), the record counts and, per type, the transfer kind ("blend" with its blend_weight,
// "residual", "refit" or the transfer's), its CV MAPE, the transfer's, the refit's and the
// residual's where fitted, the number of weight-network layers and, when the targets agree, the
// base's own MAPE on the same records.
//
// Errors (std::runtime_error): "calibrate: the base profile <name> has no <mode> predictors (it
// has: forward)"; "calibrate: no <mode> records to calibrate with"; "calibrate: target energy_j
// needs records with energy (measured with a meter); these have none"; "calibrate: every record
// was measured while other processes kept more than <x> CPUs busy"; the fingerprint's
// mixed-CPU error.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "joulecast/arch/architecture.h"
#include "joulecast/collect/config_sampler.h"
#include "joulecast/io/measurement.h"
#include "joulecast/predict/profile.h"
#include "joulecast/predict/profile_fit.h"
#include "joulecast/predict/transfer.h"

namespace joulecast {

struct CalibrationPlanOptions {
  std::string mode = "forward";                    // the base's mode to calibrate
  std::vector<std::int64_t> batch_sizes = {1, 8};  // of the `for` networks' layers
  std::uint64_t seed = 0;                          // of the random draws
  std::int64_t pool = 200;                         // random draws per type and round
  std::int64_t rounds = 10;                        // rounds of draws per type
  double min_share = 0.02;                         // floor of a type's share
  SamplerOptions sampler = [] {
    SamplerOptions o;
    o.max_macs = 4e9;
    return o;
  }();
  // A random draw whose estimated measuring cost exceeds this is left out of the pool: one
  // configuration of 5 runs of 2 s buys as much as 20 small ones. The estimate is
  // warmup_s + max(min_seconds, min_repetitions · run), with run the base's prediction for a
  // time profile, else MACs / 2e9 s (elements / 2e8 s without MACs).
  double max_config_seconds = 1.0;
  double warmup_s = 0.1;
  double min_seconds = 0.1;
  std::int64_t min_repetitions = 5;
  std::size_t max_configs = 0;  // the plan's first max_configs configurations; 0: all of it
};

std::vector<CollectConfig> PlanCalibration(const Profile& base,
                                           const std::vector<Architecture>& for_networks,
                                           const std::vector<Architecture>& weight_networks,
                                           const CalibrationPlanOptions& options = {});

// The type shares of step 2 above, by layer type (sum 1 before the floor).
std::map<std::string, double> TypeShares(const Profile& base,
                                         const std::vector<Architecture>& weight_networks);

struct CalibrateOptions {
  std::string target = "time_s";     // time_s (duration_s) or energy_j (energy_j)
  std::size_t min_type_records = 3;  // fewer: the pooled transfer
  TransferOptions transfer;
  // With this many records of a type, a predictor fitted on them alone (FitLayerPredictor with
  // `refit`, its target set to `target`) is tried too and kept instead of the transfer when its
  // k-fold CV MAPE at its MAPE-optimal level is lower (it is then kept at that level).
  std::size_t min_refit_records = 30;
  FitOptions refit;
  // The selection score follows networks: each layer of these networks (each at batch 1 and 8,
  // predicted by the base in the mode) lends its share of its network's predicted total to the
  // `neighbours` records of its type nearest to it in the base recipe's feature space
  // (standardised over the records), and a record's weight is network_weight × its part of what
  // was lent plus (1 - network_weight) / n; transfers and the refit are chosen by their
  // out-of-fold MAPE weighted so (NetworkRecordWeights). No networks, or none with a layer of
  // the type: every record weighs the same.
  std::vector<Architecture> weight_networks;
  double network_weight = 0.5;
  std::size_t neighbours = 3;
  // Where a refit is tried, also its blends with the transfer, ln ŷ = (1 - w)·T + w·R + c0, for
  // each w here: T and R the two out-of-fold predictions, c0 the log of the factor minimising
  // the blend's MAPE. The lowest MAPE of transfer, refit and blends wins; a blend only when it
  // lowers the better of the two by more than 2 % of it (it has one more number to fit). Empty:
  // no blends.
  std::vector<double> blend_weights = {0.25, 0.5, 0.75};
  // Where a refit is tried, also a residual: a predictor of the same kind (FitLayerPredictor,
  // `refit`) fitted on the records' log ratio to the base, r = t - u, so that
  // ln ŷ = u + clamp(R(x), min r, max r) + c0 (PredictorBlend kind "residual", c0 its
  // out-of-fold MAPE-optimal level): the base's shape kept and this machine's departures from it
  // learnt as freely as a refit learns the whole, held at the records' range of ratios beyond
  // them. Kept when its MAPE is below the transfer's and the refit's (a blend still needs to beat
  // all three by 2 %).
  bool residual = true;
  // Records whose context.protocol.other_cpus_busy (collect/cpu_load.h) exceeds this are left
  // out of the fit, as `fit --max-other-cpus` leaves them (they stay in the store and count
  // against the budget); records without the field are kept; data.calibration.disturbed_skipped
  // counts them. Infinity: none.
  double max_other_cpus = std::numeric_limits<double>::infinity();
  // Each record is fitted as WithoutFreshPageTime (io/measurement.h) gives it: under a kept heap,
  // the time its runs spent faulting fresh pages in is taken off, as a network's grown heap does
  // not pay it for the same tensor (the operator measured alone does for blocks of 32 MiB and
  // more). data.calibration.fresh_page_records counts the records changed. False: as measured.
  bool remove_fresh_page_time = true;
};

Profile CalibrateProfile(const Profile& base, const std::vector<Measurement>& records,
                         const CalibrateOptions& options = {});

// Throws the error CalibrateProfile gives for a base that is itself calibrated ("calibrate: the
// base profile <name> is itself calibrated (from <its base>); calibrate from that base
// instead"), so that calibrate can refuse it before measuring anything.
void CheckCalibrationBase(const Profile& base);

// The record weights of CalibrateOptions::weight_networks for one type: `records` (n × d, the
// base recipe's features of the records), `layers` (m × d, the network layers' features) and
// `shares` (m, >= 0), as described there; sums to 1. Uniform when m = 0 or the shares sum to 0.
// Throws std::invalid_argument for widths or lengths that differ, or network_weight outside
// [0, 1].
Eigen::VectorXd NetworkRecordWeights(const Eigen::MatrixXd& records, const Eigen::MatrixXd& layers,
                                     const Eigen::VectorXd& shares, std::size_t neighbours,
                                     double network_weight);
// The best blend of two out-of-fold predictions of t (all in ln(target / normaliser), one per
// record): for each w of `weights`, b = (1 - w)·transfer + w·refit, its level k the factor
// minimising the MAPE of k·e^b against e^t (MapeOptimalFactor), and that MAPE in percent, 100 ·
// mean |k·e^(b - t) - 1|. The lowest MAPE's weight, c0 = ln k and MAPE, with every weight's MAPE
// in `scores` ({"0.5": mape, ...}); with `record_weights` (n) the MAPE is their weighted mean
// (the level stays the unweighted one); nullopt for no weights, no records or lengths that differ.
struct BlendChoice {
  double weight = 0;
  double c0 = 0;
  double mape = 0;
  nlohmann::json scores;
};
std::optional<BlendChoice> BestBlend(const Eigen::VectorXd& transfer_oof,
                                     const Eigen::VectorXd& refit_oof, const Eigen::VectorXd& t,
                                     const std::vector<double>& weights,
                                     const Eigen::VectorXd& record_weights = {});

}  // namespace joulecast
