"""Measuring a classifier on held-out data: metrics (:mod:`.metrics`), the bag-of-words bar it
has to clear (:mod:`.baseline`), paired comparisons of two models on the same texts
(:mod:`.compare`), a linear probe of a frozen encoder (:mod:`.probe`) and figures (:mod:`.plots`)."""
