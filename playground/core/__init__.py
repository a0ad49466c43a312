"""The document model and its checks: pure Python and networkx, no Qt, no TensorFlow."""
