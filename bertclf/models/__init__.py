"""Pretrained encoders: names resolved to directories (:mod:`.names`), loaded with or without a
classification head (:mod:`.load`), and the [CLS]-only forward that prediction runs
(:mod:`.cls_forward`)."""
