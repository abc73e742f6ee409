// Training workloads (data/workloads.json): per-sample training cost and size of the networks and
// data sets in the training-run records, e.g. the six Zeus workloads.
//
// Convention: forward_gmacs = multiply-accumulates of one forward pass of ONE sample (conv and
// linear weights, bias excluded, in 1e9); train_gflops_per_sample = 3 × 2 × forward_gmacs
// (2 FLOPs per MAC; backward ≈ 2 × forward, so forward + backward ≈ 3 × forward).
//
// Errors (std::runtime_error): Load/FromJson "path: workloads[2] (ncf_movielens1m): field
// 'samples_per_epoch' must be a number > 0", duplicate names; Find "unknown workload 'x'; known:
// a, b, ..."; FindZeus "unknown Zeus workload (dataset 'x', network 'y'); known: cifar100/
// shufflenetv2, ...".
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace joulecast {

struct Workload {
  std::string name;  // e.g. "resnet50_imagenet"
  std::string network, dataset;
  std::string zeus_dataset, zeus_network;  // the trace's keys, empty when not a Zeus workload
  std::string architecture;  // zoo name or architecture file walked for forward_gmacs, or ""
  double forward_gmacs = 0;  // per sample
  double train_gflops_per_sample = 0;
  double params_m = 0;  // millions of trainable parameters
  double samples_per_epoch = 0;
  nlohmann::json input;    // per-sample input, free form (shape or description)
  nlohmann::json sources;  // {"macs": ..., "params": ..., "samples": ...}
};

class WorkloadTable {
 public:
  static WorkloadTable FromJson(const nlohmann::json& j, const std::string& where);
  static WorkloadTable Load(const std::string& path);
  static WorkloadTable LoadDefault();  // data/workloads.json via FindDataFile

  const Workload& Find(const std::string& name) const;
  const Workload* TryFind(const std::string& name) const;  // case-insensitive
  const Workload& FindZeus(const std::string& dataset, const std::string& network) const;
  const std::vector<Workload>& workloads() const { return workloads_; }

 private:
  std::vector<Workload> workloads_;
};

}  // namespace joulecast
