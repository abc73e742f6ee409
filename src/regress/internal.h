// Private helpers of src/regress: input validation and JSON (de)serialisation of Eigen objects.
// Every helper takes `where` ("KernelRidge::Fit") and throws std::invalid_argument with the
// message "<where>: <what is wrong>".
#pragma once

#include <fmt/format.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>

namespace joulecast::regress::internal {

[[noreturn]] inline void Fail(const char* where, const std::string& what) {
  throw std::invalid_argument(fmt::format("{}: {}", where, what));
}

// X must have at least one row and one column and only finite values.
inline void CheckMatrix(const char* where, const char* name, const Eigen::MatrixXd& X) {
  if (X.rows() == 0 || X.cols() == 0) {
    Fail(where, fmt::format("{} is empty ({} rows, {} columns)", name, X.rows(), X.cols()));
  }
  // Cheap vectorised scan first; the element loop only runs to locate a known bad value.
  if (X.allFinite()) {
    return;
  }
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    for (Eigen::Index j = 0; j < X.cols(); ++j) {
      if (!std::isfinite(X(i, j))) {
        Fail(where, fmt::format("{} has a non-finite value at row {}, column {}", name, i, j));
      }
    }
  }
}

inline void CheckVector(const char* where, const char* name, const Eigen::VectorXd& v) {
  if (v.size() == 0) {
    Fail(where, fmt::format("{} is empty", name));
  }
  if (v.allFinite()) {
    return;
  }
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v(i))) {
      Fail(where, fmt::format("{} has a non-finite value at index {}", name, i));
    }
  }
}

// Validates a training pair (X, y) of a supervised model, named x_name and y_name in messages.
inline void CheckXy(const char* where, const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                    const char* x_name = "X", const char* y_name = "y") {
  if (X.rows() != y.size()) {
    Fail(where, fmt::format("{} has {} rows but {} has {}", x_name, X.rows(), y_name, y.size()));
  }
  CheckMatrix(where, x_name, X);
  CheckVector(where, y_name, y);
}

// Validates X passed to a fitted model's Predict/Transform.
inline void CheckPredictX(const char* where, bool fitted, Eigen::Index n_features,
                          const Eigen::MatrixXd& X) {
  if (!fitted) {
    Fail(where, "model is not fitted");
  }
  if (X.cols() != n_features) {
    Fail(where,
         fmt::format("X has {} columns but the model was fitted on {}", X.cols(), n_features));
  }
  CheckMatrix(where, "X", X);
}

// ---- JSON ----

inline const nlohmann::json& Field(const char* where, const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) {
    Fail(where, fmt::format("missing field \"{}\"", key));
  }
  return *it;
}

// Checks that j is an object with the expected "kind" and "format_version".
inline void CheckHeader(const char* where, const nlohmann::json& j, const char* kind, int version) {
  if (!j.is_object()) {
    Fail(where, fmt::format("expected a JSON object, got {}", j.type_name()));
  }
  const nlohmann::json& k = Field(where, j, "kind");
  if (!k.is_string()) {
    Fail(where, fmt::format("field \"kind\" must be a string, got {}", k.dump()));
  }
  if (k.get<std::string>() != kind) {
    Fail(where, fmt::format("kind is \"{}\" but expected \"{}\"", k.get<std::string>(), kind));
  }
  const nlohmann::json& v = Field(where, j, "format_version");
  if (!v.is_number_integer()) {
    Fail(where, fmt::format("field \"format_version\" must be an integer, got {}", v.dump()));
  }
  if (v.get<long long>() != version) {
    Fail(where, fmt::format("format_version is {} but only {} is supported", v.dump(), version));
  }
}

inline double GetDouble(const char* where, const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = Field(where, j, key);
  if (!v.is_number()) {
    Fail(where, fmt::format("field \"{}\" must be a number, got {}", key, v.dump()));
  }
  const double x = v.get<double>();
  // Parsed JSON cannot hold NaN/inf, but a json built in code can.
  if (!std::isfinite(x)) {
    Fail(where, fmt::format("field \"{}\" is not finite", key));
  }
  return x;
}

inline bool GetBool(const char* where, const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = Field(where, j, key);
  if (!v.is_boolean()) {
    Fail(where, fmt::format("field \"{}\" must be true or false, got {}", key, v.dump()));
  }
  return v.get<bool>();
}

inline long long GetInt(const char* where, const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = Field(where, j, key);
  if (!v.is_number_integer()) {
    Fail(where, fmt::format("field \"{}\" must be an integer, got {}", key, v.dump()));
  }
  return v.get<long long>();
}

inline std::string GetString(const char* where, const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = Field(where, j, key);
  if (!v.is_string()) {
    Fail(where, fmt::format("field \"{}\" must be a string, got {}", key, v.dump()));
  }
  return v.get<std::string>();
}

inline nlohmann::json VectorToJson(const Eigen::VectorXd& v) {
  nlohmann::json a = nlohmann::json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    a.push_back(v(i));
  }
  return a;
}

// A non-empty array of finite numbers.
inline Eigen::VectorXd GetVector(const char* where, const nlohmann::json& j, const char* key) {
  const nlohmann::json& a = Field(where, j, key);
  if (!a.is_array()) {
    Fail(where,
         fmt::format("field \"{}\" must be an array of numbers, got {}", key, a.type_name()));
  }
  if (a.empty()) {
    Fail(where, fmt::format("field \"{}\" is empty", key));
  }
  Eigen::VectorXd v(static_cast<Eigen::Index>(a.size()));
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_number()) {
      Fail(where, fmt::format("{}[{}] must be a number, got {}", key, i, a[i].dump()));
    }
    v(static_cast<Eigen::Index>(i)) = a[i].get<double>();
  }
  CheckVector(where, key, v);
  return v;
}

// One array per row.
inline nlohmann::json MatrixToJson(const Eigen::MatrixXd& X) {
  nlohmann::json rows = nlohmann::json::array();
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (Eigen::Index c = 0; c < X.cols(); ++c) {
      row.push_back(X(i, c));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// A non-empty, rectangular array of non-empty arrays of finite numbers.
inline Eigen::MatrixXd GetMatrix(const char* where, const nlohmann::json& j, const char* key) {
  const nlohmann::json& rows = Field(where, j, key);
  if (!rows.is_array()) {
    Fail(where,
         fmt::format("field \"{}\" must be an array of rows, got {}", key, rows.type_name()));
  }
  if (rows.empty()) {
    Fail(where, fmt::format("field \"{}\" is empty", key));
  }
  const std::size_t n = rows.size();
  std::size_t d = 0;
  Eigen::MatrixXd X;
  for (std::size_t i = 0; i < n; ++i) {
    const nlohmann::json& row = rows[i];
    if (!row.is_array()) {
      Fail(where,
           fmt::format("{} row {} must be an array of numbers, got {}", key, i, row.type_name()));
    }
    if (i == 0) {
      d = row.size();
      if (d == 0) {
        Fail(where, fmt::format("{} row 0 is empty", key));
      }
      X.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
    } else if (row.size() != d) {
      Fail(where, fmt::format("{} row {} has {} entries but row 0 has {}", key, i, row.size(), d));
    }
    for (std::size_t c = 0; c < d; ++c) {
      if (!row[c].is_number()) {
        Fail(where, fmt::format("{}[{}][{}] must be a number, got {}", key, i, c, row[c].dump()));
      }
      X(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(c)) = row[c].get<double>();
    }
  }
  CheckMatrix(where, key, X);
  return X;
}

}  // namespace joulecast::regress::internal
