"""Importers from other graph formats. Each imports its framework lazily, inside functions,
so ``import workloads`` never needs onnx or torch."""
