"""Imported first by the app's entry point, before numpy or torch loads: one BLAS / OpenMP thread.

The live network's products are tiny (a 512x169 matrix times a vector per frame). Multi-threaded OpenBLAS
split them across worker threads that spin between calls, which cost the app 30-70 % of a core of busy
waiting (issue 16). Variables the user set are kept. Engine commands (``lstm-vault train``) do not import
this module, so training from the command line keeps its threads.
"""
from __future__ import annotations

import os

VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
             "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")

for _var in VARIABLES:
    os.environ.setdefault(_var, "1")
