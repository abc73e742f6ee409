#include "joulecast/predict/batch_predictor.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "joulecast/frontends/tree_lowering.h"
#include "joulecast/graph/shape_pass.h"
#include "joulecast/predict/hardware.h"
#include "joulecast/predict/network_estimate.h"
#include "joulecast/predict/resolver.h"

namespace joulecast {
namespace {

// ---- What a node costs depends only on its signature ------------------------------------------
// The resolver's answer for a node is a function of its operator, attributes, input types and the
// graph's batch (names and scopes do not enter it), so nodes of equal signature share one answer:
// the blocks a ResNet repeats, and the layers candidates of a search have in common.

std::uint64_t Mix(std::uint64_t h, std::uint64_t v) {
  h = (h ^ v) * 0xFF51AFD7ED558CCDull;
  return h ^ (h >> 29);
}

std::uint64_t Bits(double d) {
  std::uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

std::uint64_t HashString(const std::string& s) { return std::hash<std::string_view>{}(s); }

std::uint64_t HashAttr(std::uint64_t h, const graph::AttrValue& v) {
  h = Mix(h, v.index());
  switch (graph::KindOf(v)) {
    case graph::AttrKind::kInt:
      return Mix(h, static_cast<std::uint64_t>(std::get<std::int64_t>(v)));
    case graph::AttrKind::kFloat:
      return Mix(h, Bits(std::get<double>(v)));
    case graph::AttrKind::kBool:
      return Mix(h, std::get<bool>(v) ? 1 : 0);
    case graph::AttrKind::kString:
      return Mix(h, HashString(std::get<std::string>(v)));
    case graph::AttrKind::kInts:
      for (std::int64_t i : std::get<std::vector<std::int64_t>>(v))
        h = Mix(h, static_cast<std::uint64_t>(i));
      return h;
    case graph::AttrKind::kFloats:
      for (double d : std::get<std::vector<double>>(v)) h = Mix(h, Bits(d));
      return h;
    case graph::AttrKind::kSymInts: {
      const graph::SymInts& s = std::get<graph::SymInts>(v);
      for (std::int64_t i : s.values) h = Mix(h, static_cast<std::uint64_t>(i));
      return Mix(h, static_cast<std::uint64_t>(s.batch_index));
    }
  }
  return h;
}

struct Signature {
  const graph::OpSchema* schema = nullptr;
  graph::Attributes attrs;
  std::vector<graph::TensorType> inputs;  // an absent optional input: dtype kFloat32, no dims,
  std::vector<bool> present;              // told apart by `present`
  std::vector<bool> transposed;           // graph::IsTransposedParameter (a layer form reads it)
  std::int64_t batch = 1;

  // `tr`: graph::IsTransposedParameter of each of n's inputs (computed once per node by Add).
  bool Matches(const graph::Graph& g, const graph::Node& n, const std::vector<bool>& tr) const {
    if (schema != n.schema || batch != g.batch() || inputs.size() != n.inputs.size()) return false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const bool here = n.inputs[i] != graph::kNoValue;
      if (here != present[i] || (here && !(inputs[i] == g.value(n.inputs[i]).type))) return false;
      if (transposed[i] != tr[i]) return false;
    }
    return attrs == n.attrs;
  }
};

std::uint64_t HashNode(const graph::Graph& g, const graph::Node& n, const std::vector<bool>& tr) {
  std::uint64_t h = Mix(0x9E3779B97F4A7C15ull, reinterpret_cast<std::uintptr_t>(n.schema));
  h = Mix(h, static_cast<std::uint64_t>(g.batch()));
  for (std::size_t i = 0; i < n.inputs.size(); ++i) {
    const graph::ValueId v = n.inputs[i];
    if (v == graph::kNoValue) {
      h = Mix(h, 0xABCDull);
      continue;
    }
    const graph::TensorType& t = g.value(v).type;
    h = Mix(h, tr[i] ? 0x7472616eull : 0);
    h = Mix(h, static_cast<std::uint64_t>(t.dtype));
    h = Mix(h, t.dims.size());
    for (std::int64_t d : t.dims) h = Mix(h, static_cast<std::uint64_t>(d));
  }
  for (const auto& [name, value] : n.attrs.values()) h = HashAttr(Mix(h, HashString(name)), value);
  return h;
}

constexpr std::uint32_t kFree = static_cast<std::uint32_t>(-1);  // zero and none: costs 0

// The distinct layers one predictor is asked for, and their values once evaluated.
struct Rows {
  const LayerPredictor* predictor = nullptr;
  std::vector<LayerInstance> layers;
  std::vector<std::int64_t> batches;
  std::unordered_map<std::string, std::uint32_t> index;  // layer key -> row
  std::vector<double> values;
};

// Where a node's value is found: rows[predictor].values[row], or nothing (kFree).
struct Cost {
  std::uint32_t predictor = kFree;
  std::uint32_t row = 0;
};

// ---- Trees: the same sharing one level up ------------------------------------------------------
// A tree's leaves and Concats (units; Sequentials are walked through, a Residual is its body's and
// shortcut's units and then the add of their outputs) each lower to a fixed run of nodes given the
// unit's arguments, its input shape and the batch: names, scopes and the functional/repeat flags
// change names only. So each distinct unit is lowered once, alone, by LowerArchitecture (which
// checks it as the tree format does) and its nodes' costs and output shape are kept; a tree's
// total is then the sum over its units' costs, in node order. The add of a Residual is the unit
// "Residual with an empty body and shortcut" at the body's output (one add node, both inputs of
// that shape), once body and shortcut agree; when they do not, the tree is invalid and the
// architecture takes EstimateNetwork for its error. Parameters of a repeat are its module's
// (ParseArchitecture checks that a repeat has the module's arguments).

// s == lit, comparing lengths first: most types differ in length.
template <std::size_t N>
bool Is(const std::string& s, const char (&lit)[N]) {
  return s.size() == N - 1 && std::memcmp(s.data(), lit, N - 1) == 0;
}

// Reading the arguments is bound by the latency of their separately allocated JSON nodes:
// requesting the argument maps of a whole layer list first, then their first nodes, lets those
// loads overlap instead of waiting for each in turn.
void Prefetch(const std::vector<LayerSpec>& layers) {
  for (const LayerSpec& spec : layers) {
    if (spec.params.is_object())
      __builtin_prefetch(&spec.params.get_ref<const nlohmann::json::object_t&>());
  }
  for (const LayerSpec& spec : layers) {
    if (!spec.params.is_object()) continue;
    const auto& args = spec.params.get_ref<const nlohmann::json::object_t&>();
    if (args.empty()) continue;
    const char* node = reinterpret_cast<const char*>(&*args.begin());
    for (int line = 0; line < 4; ++line) __builtin_prefetch(node + 64 * line);
  }
}

// An exact, flat encoding (equal encodings: equal arguments; 1 and 1.0 encode differently, which
// only misses a share), read once and then hashed and compared as one array. Words are written
// through a pointer into storage grown ahead of need: a push_back per word (a capacity check and
// a call each) was a tenth of a Totals() call.
class Key {
 public:
  void clear() { size_ = 0; }
  std::size_t size() const { return size_; }
  const std::uint64_t* data() const { return words_.data(); }
  std::uint64_t operator[](std::size_t i) const { return words_[i]; }
  std::uint64_t* begin() { return words_.data(); }
  const std::uint64_t* begin() const { return words_.data(); }
  const std::uint64_t* end() const { return words_.data() + size_; }

  // Room for `n` more words, at the returned pointer; Commit(n) then makes them part of the key.
  std::uint64_t* Room(std::size_t n) {
    if (size_ + n > words_.size()) words_.resize(std::max(2 * words_.size(), size_ + n + 256));
    return words_.data() + size_;
  }
  void Commit(std::size_t n) { size_ += n; }
  void push_back(std::uint64_t w) {
    *Room(1) = w;
    ++size_;
  }

 private:
  std::vector<std::uint64_t> words_;
  std::size_t size_ = 0;
};

// Length, then the bytes in words, the last one zero-padded.
void EncodeString(const std::string& text, Key* key) {
  const std::size_t words = (text.size() + 7) / 8;
  std::uint64_t* w = key->Room(1 + words);
  w[0] = text.size();
  if (words > 0) {
    w[words] = 0;
    std::memcpy(w + 1, text.data(), text.size());
  }
  key->Commit(1 + words);
}

void EncodeJson(const nlohmann::json& j, Key* key) {
  using value_t = nlohmann::json::value_t;
  const value_t type = j.type();
  switch (type) {
    case value_t::object: {
      const auto& object = j.get_ref<const nlohmann::json::object_t&>();
      std::uint64_t* w = key->Room(2);
      w[0] = static_cast<std::uint64_t>(type);
      w[1] = object.size();
      key->Commit(2);
      for (const auto& item : object) {
        EncodeString(item.first, key);
        EncodeJson(item.second, key);
      }
      return;
    }
    case value_t::array: {
      const auto& array = j.get_ref<const nlohmann::json::array_t&>();
      std::uint64_t* w = key->Room(2);
      w[0] = static_cast<std::uint64_t>(type);
      w[1] = array.size();
      key->Commit(2);
      for (const nlohmann::json& e : array) EncodeJson(e, key);
      return;
    }
    case value_t::string: {
      key->push_back(static_cast<std::uint64_t>(type));
      EncodeString(j.get_ref<const std::string&>(), key);
      return;
    }
    default:
      break;
  }
  std::uint64_t value = 0;  // null, discarded, binary: the type says it
  switch (type) {
    case value_t::number_integer:
      value = static_cast<std::uint64_t>(j.get_ref<const nlohmann::json::number_integer_t&>());
      break;
    case value_t::number_unsigned:
      value = j.get_ref<const nlohmann::json::number_unsigned_t&>();
      break;
    case value_t::number_float:
      value = Bits(j.get_ref<const nlohmann::json::number_float_t&>());
      break;
    case value_t::boolean:
      value = j.get_ref<const nlohmann::json::boolean_t&>() ? 1 : 0;
      break;
    default:
      key->push_back(static_cast<std::uint64_t>(type));
      return;
  }
  std::uint64_t* w = key->Room(2);
  w[0] = static_cast<std::uint64_t>(type);
  w[1] = value;
  key->Commit(2);
}

void EncodeSpec(const LayerSpec& s, Key* key);

void EncodeList(const std::vector<LayerSpec>& list, Key* key) {
  Prefetch(list);  // a Concat's branches
  key->push_back(list.size());
  for (const LayerSpec& c : list) EncodeSpec(c, key);
}

void EncodeSpec(const LayerSpec& s, Key* key) {
  EncodeString(s.type, key);
  EncodeJson(s.params, key);
  key->push_back(s.split ? 1 : 0);
  EncodeList(s.layers, key);
  EncodeList(s.shortcut, key);
  key->push_back(s.branches.size());
  for (const auto& branch : s.branches) EncodeList(branch, key);
}

// Four independent lanes, so that the multiplications overlap.
std::uint64_t HashKey(const Key& key) {
  std::uint64_t lane[4] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full, 0x165667B19E3779F9ull,
                           0x27D4EB2F165667C5ull};
  std::size_t i = 0;
  for (; i + 4 <= key.size(); i += 4) {
    for (int l = 0; l < 4; ++l) lane[l] = (lane[l] ^ key[i + l]) * 0xFF51AFD7ED558CCDull;
  }
  std::uint64_t h = Mix(Mix(Mix(Mix(key.size(), lane[0]), lane[1]), lane[2]), lane[3]);
  for (; i < key.size(); ++i) h = Mix(h, key[i]);
  return h;
}

// What lowering one unit gives; its key (batch, input rank and shape, EncodeSpec) is the table's.
struct Unit {
  std::vector<Cost> costs;
  Shape output;  // per sample
};

// The units seen, in one open-addressing table over one arena: a unit's key, node costs and
// output shape lie side by side in `arena`, and the table holds the hash beside where they are.
// A look-up that finds its unit then touches two places in memory (the slot, the arena), where
// a map of vectors of separately allocated units took about five dependent loads: on candidates
// too many to stay in cache, those loads are what a look-up costs.
class UnitTable {
 public:
  // Where a unit's costs and output shape lie in the arena (read them with memcpy).
  struct Found {
    const std::uint64_t* costs = nullptr;
    std::size_t n_costs = 0;
    const std::uint64_t* output = nullptr;
    std::size_t rank = 0;
  };

  std::size_t size() const { return used_; }

  // The unit whose key equals `key` (hash `h`), if stored.
  std::optional<Found> Find(const Key& key, std::uint64_t h) const {
    if (slots_.empty()) return std::nullopt;
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key_words == 0) return std::nullopt;
      if (s.hash == h && s.key_words == key.size() &&
          std::memcmp(&arena_[s.offset], key.data(), key.size() * sizeof(std::uint64_t)) == 0) {
        return At(s);
      }
    }
  }

  Found Insert(const Key& key, const Unit& u, std::uint64_t h) {
    if (2 * (used_ + 1) > slots_.size()) Grow();
    Slot s;
    s.hash = h;
    s.offset = arena_.size();
    s.key_words = static_cast<std::uint32_t>(key.size());
    s.n_costs = static_cast<std::uint32_t>(u.costs.size());
    s.rank = static_cast<std::uint32_t>(u.output.size());
    arena_.insert(arena_.end(), key.begin(), key.end());
    arena_.resize(arena_.size() + u.costs.size() + u.output.size());
    static_assert(sizeof(Cost) == sizeof(std::uint64_t), "a cost is one arena word");
    std::memcpy(&arena_[s.offset + s.key_words], static_cast<const void*>(u.costs.data()),
                u.costs.size() * sizeof(Cost));
    std::memcpy(&arena_[s.offset + s.key_words + s.n_costs], u.output.data(),
                u.output.size() * sizeof(std::int64_t));
    Place(s);
    ++used_;
    return At(s);
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::size_t offset = 0;
    std::uint32_t key_words = 0;  // 0: empty (a key holds at least the batch and the rank)
    std::uint32_t n_costs = 0;
    std::uint32_t rank = 0;
  };

  Found At(const Slot& s) const {
    Found f;
    f.costs = arena_.data() + s.offset + s.key_words;
    f.n_costs = s.n_costs;
    f.output = f.costs + s.n_costs;
    f.rank = s.rank;
    return f;
  }

  void Place(const Slot& s) {
    std::size_t i = s.hash & mask_;
    while (slots_[i].key_words != 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<std::size_t>(64, 2 * old.size()), Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.key_words != 0) Place(s);
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t used_ = 0;
  std::vector<std::uint64_t> arena_;
};

}  // namespace

struct BatchPredictor::Impl {
  Profile profile;
  std::optional<std::string> hardware_warning;  // HardwareMismatch(profile, HostFingerprint())

  // One per part of a Totals()/GraphTotals() call (one thread): the signatures and rows seen.
  class Context {
   public:
    explicit Context(const Profile& profile) : profile_(&profile), resolver_(profile) {}

    // Forgets everything (after a failure, which may leave rows that cannot be predicted).
    void Reset() { *this = Context(*profile_); }

    // The cost of each node of `g` (shapes inferred), in node order, appended to `out`. Throws
    // the resolver's error prefixed as EstimateGraph prefixes it.
    void Add(const graph::Graph& g, std::vector<Cost>* out) {
      const auto n_nodes = static_cast<graph::NodeId>(g.nodes().size());
      for (graph::NodeId n = 0; n < n_nodes; ++n) {
        const graph::Node& node = g.node(n);
        ++nodes_;
        transposed_.clear();
        for (graph::ValueId v : node.inputs)
          transposed_.push_back(graph::IsTransposedParameter(g, v));
        const std::uint64_t h = HashNode(g, node, transposed_);
        std::vector<std::uint32_t>& bucket = by_hash_[h];
        const Cost* found = nullptr;
        for (std::uint32_t s : bucket) {
          if (signatures_[s].Matches(g, node, transposed_)) {
            found = &costs_[s];
            break;
          }
        }
        if (!found) {
          bucket.push_back(static_cast<std::uint32_t>(signatures_.size()));
          costs_.push_back(Resolve(g, n));
          signatures_.push_back(SignatureOf(g, node, transposed_));
          found = &costs_.back();
        }
        out->push_back(*found);
      }
    }

    // The costs of the nodes of LowerArchitecture(arch, batch), in node order, appended to `out`.
    // Throws for an invalid tree (not always EstimateNetwork's message).
    void AddTree(const Architecture& arch, std::int64_t batch, std::vector<Cost>* out) {
      ahead_.clear();
      Collect(arch.layers);
      next_ = 0;
      Shape cur = arch.input;
      if (arch.layers.empty()) Add(LowerArchitecture(arch, batch), out);  // checks the input
      WalkUnits(arch, arch.layers, batch, &cur, out);
    }

    // Predicts the rows added since the last call. Throws the predictor's std::invalid_argument.
    void Evaluate() {
      for (Rows& rs : rows_) {
        const std::size_t from = rs.values.size();
        if (from == rs.layers.size()) continue;
        std::vector<const LayerInstance*> ptrs;
        for (std::size_t i = from; i < rs.layers.size(); ++i) ptrs.push_back(&rs.layers[i]);
        const std::vector<std::int64_t> batches(rs.batches.begin() + static_cast<long>(from),
                                                rs.batches.end());
        const std::vector<double> v = rs.predictor->PredictMany(ptrs, batches);
        rs.values.insert(rs.values.end(), v.begin(), v.end());
      }
    }

    // Summed in node order, as EstimateGraph sums (free nodes add 0).
    double Total(const Cost* begin, const Cost* end) const {
      double total = 0;
      for (const Cost* c = begin; c != end; ++c) {
        if (c->predictor != kFree) total += rows_[c->predictor].values[c->row];
      }
      return total;
    }

    std::size_t size() const { return units_.size() + signatures_.size(); }

    void AddStats(Stats* stats) const {
      stats->operations += nodes_;
      stats->signatures += signatures_.size();
      stats->units += units_.size();
      for (const Rows& rs : rows_) stats->distinct_rows += rs.layers.size();
    }

   private:
    // The units of a tree in the order WalkUnits meets them, so that their arguments can be
    // requested from memory a few units ahead of their use.
    void Collect(const std::vector<LayerSpec>& layers) {
      for (const LayerSpec& spec : layers) {
        if (Is(spec.type, "Sequential")) {
          Collect(spec.layers);
        } else if (Is(spec.type, "Residual")) {
          Collect(spec.layers);
          Collect(spec.shortcut);
        } else {
          ahead_.push_back(&spec);
        }
      }
    }

    // The argument map of the unit `distance` ahead, then the nodes of the one half as far.
    void PrefetchAhead() {
      constexpr std::size_t kDistance = 8;
      if (next_ + kDistance < ahead_.size()) {
        const nlohmann::json& p = ahead_[next_ + kDistance]->params;
        if (p.is_object()) __builtin_prefetch(&p.get_ref<const nlohmann::json::object_t&>());
      }
      if (next_ + kDistance / 2 < ahead_.size()) {
        const nlohmann::json& p = ahead_[next_ + kDistance / 2]->params;
        if (p.is_object() && !p.empty()) {
          const char* node =
              reinterpret_cast<const char*>(&*p.get_ref<const nlohmann::json::object_t&>().begin());
          for (int line = 0; line < 12; ++line) __builtin_prefetch(node + 64 * line);
        }
      }
      ++next_;
    }

    void WalkUnits(const Architecture& arch, const std::vector<LayerSpec>& layers,
                   std::int64_t batch, Shape* cur, std::vector<Cost>* out) {
      for (const LayerSpec& spec : layers) {
        if (Is(spec.type, "Sequential")) {
          WalkUnits(arch, spec.layers, batch, cur, out);
        } else if (Is(spec.type, "Residual")) {
          Shape body = *cur, shortcut = *cur;
          WalkUnits(arch, spec.layers, batch, &body, out);
          WalkUnits(arch, spec.shortcut, batch, &shortcut, out);
          if (body != shortcut) throw std::runtime_error("residual shapes differ");
          static const LayerSpec kAdd = [] {
            LayerSpec add;
            add.type = "Residual";
            return add;
          }();
          UseUnit(arch, kAdd, batch, &body, out);
          *cur = std::move(body);
        } else {
          PrefetchAhead();
          UseUnit(arch, spec, batch, cur, out);
        }
      }
    }

    // Appends the unit's costs and advances `cur` to its output.
    void UseUnit(const Architecture& arch, const LayerSpec& spec, std::int64_t batch, Shape* cur,
                 std::vector<Cost>* out) {
      key_.clear();
      key_.push_back(static_cast<std::uint64_t>(batch));
      key_.push_back(cur->size());
      for (std::int64_t d : *cur) key_.push_back(static_cast<std::uint64_t>(d));
      EncodeSpec(spec, &key_);
      const std::uint64_t h = HashKey(key_);
      std::optional<UnitTable::Found> found = units_.Find(key_, h);
      if (!found) found = units_.Insert(key_, LowerUnit(arch, spec, *cur, batch), h);
      const std::size_t at = out->size();
      out->resize(at + found->n_costs);
      std::memcpy(static_cast<void*>(out->data() + at), found->costs,
                  found->n_costs * sizeof(Cost));
      nodes_ += found->n_costs;
      cur->resize(found->rank);
      std::memcpy(cur->data(), found->output, found->rank * sizeof(std::int64_t));
    }

    Unit LowerUnit(const Architecture& arch, const LayerSpec& spec, const Shape& input,
                   std::int64_t batch) {
      Architecture one;
      one.name = arch.name;
      one.input = input;
      one.layers = {spec};
      const graph::Graph g = LowerArchitecture(one, batch);
      Unit u;
      const std::size_t nodes = nodes_;  // counted where the unit is used
      Add(g, &u.costs);
      nodes_ = nodes;
      const graph::Dims& out = g.value(g.outputs().at(0)).type.dims;
      u.output.assign(out.begin() + 1, out.end());
      return u;
    }

    Cost Resolve(const graph::Graph& g, graph::NodeId n) {
      const graph::Node& node = g.node(n);
      Resolution r;
      try {
        r = resolver_.Resolve(node, graph::MakeCall(g, n));
      } catch (const std::exception& e) {
        throw std::runtime_error(
            fmt::format("{}: {}: {}", g.name, graph::NodeLabel(node), e.what()));
      }
      if (!r.predictor) return Cost{};
      auto [pit, fresh_predictor] =
          predictor_index_.try_emplace(r.predictor, static_cast<std::uint32_t>(rows_.size()));
      if (fresh_predictor) rows_.push_back(Rows{r.predictor, {}, {}, {}, {}});
      Rows& rs = rows_[pit->second];
      // Signatures that differ can still give one layer (a batch norm and an add of as many
      // elements both become the element-wise fallback's layer).
      row_key_.clear();
      EncodeString(r.layer.type, &row_key_);
      EncodeJson(r.layer.params, &row_key_);
      for (const Shape* shape : {&r.layer.input_shape, &r.layer.output_shape}) {
        row_key_.push_back(shape->size());
        for (std::int64_t d : *shape) row_key_.push_back(static_cast<std::uint64_t>(d));
      }
      row_key_.push_back(static_cast<std::uint64_t>(r.batch));
      std::string key(reinterpret_cast<const char*>(row_key_.data()),
                      row_key_.size() * sizeof(std::uint64_t));
      auto [it, fresh] =
          rs.index.try_emplace(std::move(key), static_cast<std::uint32_t>(rs.layers.size()));
      if (fresh) {
        rs.layers.push_back(std::move(r.layer));
        rs.batches.push_back(r.batch);
      }
      return Cost{pit->second, it->second};
    }

    static Signature SignatureOf(const graph::Graph& g, const graph::Node& n,
                                 const std::vector<bool>& transposed) {
      Signature s;
      s.schema = n.schema;
      s.attrs = n.attrs;
      s.batch = g.batch();
      s.transposed = transposed;
      for (graph::ValueId v : n.inputs) {
        s.present.push_back(v != graph::kNoValue);
        s.inputs.push_back(v == graph::kNoValue ? graph::TensorType{} : g.value(v).type);
      }
      return s;
    }

    const Profile* profile_;
    Resolver resolver_;
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> by_hash_;
    std::vector<bool> transposed_;  // Add's scratch: IsTransposedParameter of the node's inputs
    std::vector<Signature> signatures_;
    std::vector<Cost> costs_;  // per signature
    std::unordered_map<const LayerPredictor*, std::uint32_t> predictor_index_;
    std::vector<Rows> rows_;
    std::size_t nodes_ = 0;
    UnitTable units_;
    Key key_;                              // the unit being looked up
    Key row_key_;                          // the layer being looked up among a predictor's rows
    std::vector<const LayerSpec*> ahead_;  // AddTree's units in order
    std::size_t next_ = 0;
  };

  // Totals of items [from, to) into out[from, to). `add(ctx, i, &costs)` appends item i's node
  // costs; `exact(i)` is the per-item computation whose error is the one to report when the shared
  // path fails, prefixed by `label(i)` (and whose result is taken should none fail).
  void Run(Context& ctx, std::size_t from, std::size_t to,
           const std::function<void(Context&, std::size_t, std::vector<Cost>*)>& add,
           const std::function<double(std::size_t)>& exact,
           const std::function<std::string(std::size_t)>& label, double* out, Stats* stats) const {
    // Chunks keep the cost list short while the signatures and rows carry over between chunks.
    constexpr std::size_t kChunk = 64;
    // A kept context arrives with what earlier calls did: this call's stats are the growth.
    Stats start, done;
    ctx.AddStats(&start);
    auto add_growth = [&] {
      Stats now;
      ctx.AddStats(&now);
      done.operations += now.operations - start.operations;
      done.signatures += now.signatures - start.signatures;
      done.units += now.units - start.units;
      done.distinct_rows += now.distinct_rows - start.distinct_rows;
    };
    std::vector<Cost> costs;
    std::vector<std::size_t> begin(kChunk + 1);
    for (std::size_t c0 = from; c0 < to; c0 += kChunk) {
      const std::size_t c1 = std::min(to, c0 + kChunk);
      costs.clear();
      bool shared = true;
      try {
        for (std::size_t i = c0; i < c1; ++i) {
          begin[i - c0] = costs.size();
          add(ctx, i, &costs);
        }
        begin[c1 - c0] = costs.size();
        ctx.Evaluate();
      } catch (const std::exception&) {
        shared = false;
      }
      if (!shared) {
        add_growth();
        ctx.Reset();
        start = {};
        // The first failing item's own error, as computing it alone reports it.
        for (std::size_t i = c0; i < c1; ++i) {
          try {
            out[i] = exact(i);
          } catch (const std::exception& first) {
            throw std::runtime_error(label(i) + first.what());
          }
        }
        continue;
      }
      for (std::size_t i = c0; i < c1; ++i)
        out[i] = ctx.Total(costs.data() + begin[i - c0], costs.data() + begin[i - c0 + 1]);
    }
    add_growth();
    if (stats) {
      stats->operations += done.operations;
      stats->signatures += done.signatures;
      stats->units += done.units;
      stats->distinct_rows += done.distinct_rows;
    }
  }

  // Totals of items [0, n) in `threads` parts, each with its own context (see Run), the kept
  // context of its part where that one is free.
  std::vector<double> RunAll(
      std::size_t n, int threads, Stats* stats,
      const std::function<void(Context&, std::size_t, std::vector<Cost>*)>& add,
      const std::function<double(std::size_t)>& exact,
      const std::function<std::string(std::size_t)>& label) const {
    std::vector<double> out(n);
    Parallel(n, threads, stats, [&](std::size_t part, std::size_t from, std::size_t to, Stats* s) {
      Borrowed ctx = Borrow(part);
      try {
        Run(*ctx.context, from, to, add, exact, label, out.data(), s);
      } catch (...) {
        ctx.Drop();
        throw;
      }
    });
    return out;
  }

  // The contexts of parts 0..kKeptParts-1, kept between calls (whose answers depend only on the
  // profile) so that the candidates of later calls, and of Total(), find the units and layers
  // earlier ones resolved: a search's next generation shares most of its layers with the last.
  // A context is dropped when it has grown past kMaxKept units and signatures or a call failed
  // with it; a call that finds it in use takes a fresh one.
  static constexpr std::size_t kMaxKept = 1 << 16;
  static constexpr std::size_t kKeptParts = 16;
  struct Kept {
    std::mutex mutex;
    std::unique_ptr<Context> context;
  };
  mutable std::array<Kept, kKeptParts> kept;

  // A part's context: the kept one (locked while borrowed) or a fresh one.
  struct Borrowed {
    std::unique_lock<std::mutex> lock;
    std::unique_ptr<Context> fresh;
    Kept* slot = nullptr;
    Context* context = nullptr;
    // After a failure: the kept context may hold rows that cannot be predicted.
    void Drop() {
      if (slot) slot->context.reset();
    }
  };
  Borrowed Borrow(std::size_t part) const {
    Borrowed b;
    if (part < kKeptParts) {
      Kept& k = kept[part];
      b.lock = std::unique_lock<std::mutex>(k.mutex, std::try_to_lock);
      if (b.lock.owns_lock()) {
        if (!k.context || k.context->size() > kMaxKept)
          k.context = std::make_unique<Context>(profile);
        b.slot = &k;
        b.context = k.context.get();
        return b;
      }
    }
    b.fresh = std::make_unique<Context>(profile);
    b.context = b.fresh.get();
    return b;
  }

  // Splits [0, n) into `threads` contiguous parts run in parallel (threads: 0 = all cores).
  void Parallel(
      std::size_t n, int threads, Stats* stats,
      const std::function<void(std::size_t, std::size_t, std::size_t, Stats*)>& part) const {
    if (threads < 0) throw std::runtime_error(fmt::format("threads must be >= 0, got {}", threads));
    if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const std::size_t parts = std::min<std::size_t>(static_cast<std::size_t>(threads), n);
    if (parts <= 1) {
      part(0, 0, n, stats);
      return;
    }
    std::vector<std::exception_ptr> errors(parts);
    std::vector<Stats> part_stats(parts);
    auto run_part = [&](std::size_t p) {
      try {
        part(p, n * p / parts, n * (p + 1) / parts, &part_stats[p]);
      } catch (...) {
        errors[p] = std::current_exception();
      }
    };
    std::vector<std::thread> workers;
    for (std::size_t p = 1; p < parts; ++p) workers.emplace_back(run_part, p);
    run_part(0);
    for (auto& w : workers) w.join();
    // The error of the first failing item, as a single thread would report it.
    for (const auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
    if (stats) {
      for (const Stats& s : part_stats) {
        stats->operations += s.operations;
        stats->signatures += s.signatures;
        stats->units += s.units;
        stats->distinct_rows += s.distinct_rows;
      }
    }
  }
};

BatchPredictor::BatchPredictor(const Profile& profile) : impl_(std::make_unique<Impl>()) {
  impl_->profile = profile;
  impl_->hardware_warning = HardwareMismatch(impl_->profile, HostFingerprint());
}

BatchPredictor::~BatchPredictor() = default;
BatchPredictor::BatchPredictor(BatchPredictor&&) noexcept = default;
BatchPredictor& BatchPredictor::operator=(BatchPredictor&&) noexcept = default;

const Profile& BatchPredictor::profile() const { return impl_->profile; }

std::optional<std::string> BatchPredictor::hardware_warning() const {
  return impl_->hardware_warning;
}

double BatchPredictor::Total(const Architecture& arch, std::int64_t batch_size) const {
  const Impl& im = *impl_;
  Impl::Borrowed ctx = im.Borrow(0);
  double total = 0;
  try {
    im.Run(
        *ctx.context, 0, 1,
        [&](Impl::Context& c, std::size_t, std::vector<Cost>* costs) {
          c.AddTree(arch, batch_size, costs);
        },
        [&](std::size_t) { return EstimateNetwork(im.profile, arch, batch_size).total; },
        [](std::size_t) { return std::string(); }, &total, nullptr);
  } catch (...) {
    ctx.Drop();
    throw;
  }
  return total;
}

std::vector<double> BatchPredictor::Totals(const std::vector<Architecture>& archs,
                                           std::int64_t batch_size, int threads) const {
  return Totals(archs, batch_size, threads, nullptr);
}

std::vector<double> BatchPredictor::Totals(const std::vector<Architecture>& archs,
                                           std::int64_t batch_size, int threads,
                                           Stats* stats) const {
  if (batch_size < 1) {
    throw std::runtime_error(fmt::format("batch size must be >= 1, got {}", batch_size));
  }
  const Impl& im = *impl_;
  return im.RunAll(
      archs.size(), threads, stats,
      [&](Impl::Context& c, std::size_t i, std::vector<Cost>* costs) {
        c.AddTree(archs[i], batch_size, costs);
      },
      [&](std::size_t i) { return EstimateNetwork(im.profile, archs[i], batch_size).total; },
      [&](std::size_t i) { return fmt::format("architectures[{}] ({}): ", i, archs[i].name); });
}

std::vector<double> BatchPredictor::GraphTotals(const std::vector<graph::Graph>& graphs,
                                                int threads, Stats* stats) const {
  const Impl& im = *impl_;
  return im.RunAll(
      graphs.size(), threads, stats,
      [&](Impl::Context& c, std::size_t i, std::vector<Cost>* costs) { c.Add(graphs[i], costs); },
      [&](std::size_t i) { return EstimateGraph(im.profile, graphs[i]).total; },
      [&](std::size_t i) { return fmt::format("graphs[{}] ({}): ", i, graphs[i].name); });
}

}  // namespace joulecast
