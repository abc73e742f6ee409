// Reading a TorchScript file (torch.jit.script or torch.jit.trace, saved with torch.jit.save) as an
// operator graph (LoadTorchScriptGraph) or, the older reader, as an Architecture tree
// (LoadTorchScriptFile).
//
// LoadTorchScriptGraph: the plugin lowers forward() operation by operation into the operator graph
// (src/torchscript/torchscript_graph.cpp): every aten operation on tensors becomes a node of the
// registry (conv2d, linear, matmul, mul, layer_norm, reshape, ...) in the scope of the module that
// ran it ("layer1.0.conv1"), parameters and buffers are values named by their full path, and
// integer arithmetic on shapes, lists, constant branches and loops are evaluated. So any module
// made of supported aten operations is read without knowing its class. Refused, with the module,
// the operation and the source line: operations the registry has no operator for, data-dependent
// control flow, training-mode batch norm. Reshape/expand targets that scale with the batch are
// stored as sym_ints (graph/batch_merge.h), so SetBatch + InferShapes re-target the graph. The
// readers' fusion rules (joulecast/graph/fuse.h, shared with the ONNX reader) then apply, e.g.
// torchvision's traced channel_shuffle (view, transpose, contiguous, view) becomes one
// channel_shuffle node, and a hand-written GELU or LayerNorm the registry's operator.
//
// LoadTorchScriptFile (the tree reader):
//
// libtorch is not linked into joulecast: the work is done by the joulecast_torchscript plugin
// (src/torchscript/torchscript_plugin.cpp, built only when CMake finds libtorch), which this
// loader dlopen()s on first use, so only reading a .pt file pays libtorch's ~0.4 s of start-up.
// The plugin describes the model as architecture JSON (data/architectures/README.md), which is
// parsed by ParseArchitectureText and checked by InferShapes like any zoo file.
//
// What the plugin understands: torch.nn leaf modules of the architecture format (Conv2d, Linear,
// BatchNorm2d, ReLU, MaxPool2d, ...; from the class constants of scripted modules, or from the
// operation a traced module recorded), containers and user modules whose forward() takes and
// returns one tensor (each becomes a Sequential named after the module), a further call of a leaf
// module (a "repeat"), functional relu/relu6/hardtanh(0, 6)/sigmoid/tanh/softmax/dropout/flatten/
// x.view(x.size(0), -1)/adaptive_avg_pool2d/max_pool2d/avg_pool2d/mean([2, 3])/channel_shuffle/
// linear/conv2d/batch_norm, tensor + tensor (a functional Residual after the common prefix of the
// two operands), torch.cat along the channels (a functional Concat; split when it joins the pieces
// of one x.chunk(n, 1) in order), torchvision's channel_shuffle (scripted: by name; traced: its
// view/transpose/view), and branches on constants (self.training, "is not None"). The model is
// never run, and its weights are not read beyond their shapes. Refused with an error naming the
// module, the operation and, where the file records it, the source line: any other operation or
// torch.nn class (e.g. aten::mul, Hardswish), data-dependent control flow, loops, modules called
// with or returning several tensors (DenseNet's dense layers take a list), a non-leaf module
// called twice, a module result that is never used, and paths that share a layer after they
// branch (the format would count it twice).
//
// Plugin search order (the first directory holding the plugin file wins):
//   1. $JOULECAST_PLUGIN_DIR                          (when set and non-empty)
//   2. <directory of the running executable>          (the build tree puts it next to joulecast)
//   3. <directory of the running executable>/../lib/joulecast   (installed tree)
//   4. the build directory this library was compiled in
#pragma once

#include <string>
#include <vector>

#include "joulecast/arch/architecture.h"
#include "joulecast/arch/layer.h"
#include "joulecast/graph/graph.h"
#include "joulecast/graph/tensor_type.h"

namespace joulecast {

// The plugin's file name, e.g. "libjoulecast_torchscript.so".
std::string TorchScriptPluginFileName();

// The plugin directories above, in search order, whether or not they exist.
std::vector<std::string> TorchScriptPluginDirectories();

// Reads the TorchScript file at `path` as an architecture named after the file (without its
// extension), with the per-sample `input` shape (the file does not record one, e.g. {3, 224, 224}),
// and checks it with InferShapes. Throws std::runtime_error with a one-line message starting with
// "path: ":
//   "m.pt: cannot open file"
//   "m.pt: reading TorchScript needs the joulecast_torchscript plugin (built when libtorch is
//    found); not found in: <dir>, <dir>, ..."
//   "m.pt: cannot load the TorchScript plugin <file>: <dlerror>"
//   "m.pt: cannot read TorchScript: PytorchStreamReader failed reading zip archive: ..."
//   "m.pt: layer1.0 (BasicBlock): unsupported operation aten::mul in forward() (at model.py:12)"
//   "m.pt: input: expected a non-empty array of positive integers, got [3, 0]"
//   "m.pt: conv1 (Conv2d): expected 3 input channels, got 1 (input 1x224x224)"
Architecture LoadTorchScriptFile(const std::string& path, const Shape& input);

// As above, searching the plugin only in `plugin_dirs`.
Architecture LoadTorchScriptFile(const std::string& path, const Shape& input,
                                 const std::vector<std::string>& plugin_dirs);

// Reads the TorchScript file at `path` as an operator graph named after the file (without its
// extension), for forward()'s one tensor argument of the batched shape `input` (batch dimension
// first, e.g. {8, 3, 224, 224}) and dtype `input_dtype` (token ids: kInt64). The result's shapes
// are inferred at batch input[0]. Throws std::runtime_error with one line starting with "path: ",
// the plugin errors of LoadTorchScriptFile and e.g.
//   "m.pt: layer1.0 (Block): unsupported operation aten::erfinv (at model.py:12)"
//   "m.pt: input: expected the batch dimension and the sample's sizes"
graph::Graph LoadTorchScriptGraph(const std::string& path, const graph::Dims& input);
graph::Graph LoadTorchScriptGraph(const std::string& path, const graph::Dims& input,
                                  const std::vector<std::string>& plugin_dirs);
graph::Graph LoadTorchScriptGraph(const std::string& path, const graph::Dims& input,
                                  graph::DType input_dtype,
                                  const std::vector<std::string>& plugin_dirs);

}  // namespace joulecast
