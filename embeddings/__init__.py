"""Text normalisation, the sentence encoder, vector cache, dense and lexical indexes, hybrid retrieval."""

import os

# On AVX-512/AMX CPUs MKL picks its GEMM kernels by matrix shape, so a text's vector came out 1e-7 apart
# depending on how many texts shared its batch: enough to break a resumed build being bit-identical to an
# uninterrupted one (tests/test_encode_checkpoint.py). MKL's strict reproducibility mode fixes the order of
# the sums at ~5% of encoding speed. MKL reads this once, at its first call: so here, before torch runs
# anything (the package is imported before any model is loaded).
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")
