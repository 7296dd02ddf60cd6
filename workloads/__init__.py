"""Operator graphs of deep-learning workloads: the IR, built-in models, JSON I/O, importers.

Layering: imports only :mod:`hwsim.errors` and :mod:`hwsim.numerics` from the project; the
ONNX and PyTorch importers (``workloads.importers.onnx`` / ``.torch``) import their
frameworks lazily.

>>> from workloads import build_workload
>>> g = build_workload("llama2-7b", phase="decode", kv_len=1024, precision="w4a8")
>>> round(g.params / 1e9, 2)
6.74
"""

from workloads.formats import PRECISIONS, Precision, format_bits, get_precision
from workloads.graph import Graph, Totals
from workloads.models.configs import LLM_CONFIGS, LlmConfig
from workloads.models.training import training_graph
from workloads.ops import (
    OP_TYPES,
    Attention,
    Backward,
    Conv2d,
    Elementwise,
    Embedding,
    MatMul,
    Norm,
    Op,
    OpFormats,
    Pool,
    Softmax,
    TensorUse,
    View,
    WeightUpdate,
)
from workloads.registry import BUILTINS, WorkloadInfo, build_workload, list_workloads
from workloads.serialize import (
    SCHEMA_VERSION,
    dumps,
    graph_from_dict,
    graph_to_dict,
    load_graph,
    loads,
    save_graph,
)

__all__ = [
    "BUILTINS", "LLM_CONFIGS", "OP_TYPES", "PRECISIONS", "SCHEMA_VERSION", "Attention",
    "Backward", "Conv2d", "Elementwise", "Embedding", "Graph", "LlmConfig", "MatMul", "Norm",
    "Op", "OpFormats", "Pool", "Precision", "Softmax", "TensorUse", "Totals", "View",
    "WeightUpdate", "WorkloadInfo", "build_workload", "dumps", "format_bits", "get_precision",
    "graph_from_dict", "graph_to_dict", "list_workloads", "load_graph", "loads", "save_graph",
    "training_graph",
]
