"""Deployment: export a model to dependency-free C99 and drive the compiled export.

``export_c(model, out_dir)`` writes ``slm_model.h`` / ``slm_model.c``; :func:`footprint` gives
its flash and RAM bytes; :class:`Harness` compiles it with a test program (needs a C compiler).
"""

from spikelearn.export.c_export import DEFAULT_EXTRA_CLASSES, export_c, footprint, pack_values
from spikelearn.export.harness import STRICT_FLAGS, Harness, find_compiler

__all__ = ["DEFAULT_EXTRA_CLASSES", "STRICT_FLAGS", "Harness", "export_c", "find_compiler",
           "footprint", "pack_values"]
