"""`aacn bench`: speed and peak memory of the layer's attention paths and of plain vs AA models, side by side,
against a literal port of the paper's appendix algorithm (:mod:`aacn.bench.appendix_baseline`)."""
