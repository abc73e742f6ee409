#include "joulecast/predict/resolver.h"

namespace joulecast {

namespace {
const char* kElementwise[] = {"ReLU", "Sigmoid", "Tanh", "Softmax"};

Shape PerSample(const graph::Dims& d) {
  if (d.size() <= 1) return Shape{1};
  return Shape(d.begin() + 1, d.end());
}
}  // namespace

LayerInstance ToLayerInstance(const graph::LayerForm& form, const std::string& name,
                              std::int64_t* batch) {
  *batch = form.input.empty() ? 1 : form.input[0];
  LayerInstance l;
  l.name = name;
  l.type = form.type;
  l.params = form.params;
  l.input_shape = form.input.size() <= 1 ? Shape{form.input.empty() ? 1 : form.input[0]}
                                          : PerSample(form.input);
  if (form.input.size() <= 1) *batch = 1;
  l.output_shape = form.output.empty() ? Shape{} : PerSample(form.output);
  return l;
}

Resolver::Resolver(const Profile& profile) : profile_(&profile) {
  for (const char* t : kElementwise) {
    if ((elementwise_ = profile.Find(t))) {
      elementwise_type_ = t;
      break;
    }
  }
}

Resolution Resolver::Resolve(const graph::Node& node, const graph::OpCall& call) const {
  const graph::OpSchema& s = *node.schema;
  const graph::LayerForm form = graph::LayerFormOf(s, call);
  Resolution r;
  r.layer = ToLayerInstance(form, node.name, &r.batch);
  if ((r.predictor = profile_->Find(form.type))) {
    r.method = "model";
    return r;
  }
  if (s.cost == graph::CostClass::kView) {
    r.method = "zero";
    return r;
  }
  if (s.cost == graph::CostClass::kCompute) {
    if (s.proxy) {
      if (auto proxy = s.proxy(call)) {
        if (const LayerPredictor* p = profile_->Find(proxy->type)) {
          r.predictor = p;
          r.layer = ToLayerInstance(*proxy, node.name, &r.batch);
          r.method = "proxy:" + proxy->type;
          return r;
        }
      }
    }
    r.method = "none";
    return r;
  }
  if (elementwise_) {
    // The element-wise predictor sees a flat layer with as many elements per sample.
    double elements = 1;
    for (std::int64_t d : r.layer.input_shape) elements *= static_cast<double>(d);
    r.predictor = elementwise_;
    r.layer = LayerInstance{node.name, elementwise_type_, nlohmann::json::object(),
                            Shape{static_cast<std::int64_t>(elements)}, {}};
    r.method = "per-element:" + elementwise_type_;
    return r;
  }
  r.method = "none";
  return r;
}

}  // namespace joulecast
