"""Encoders built before fine-tuning: MLM pretraining from zero or from an existing encoder
(:mod:`.pretrain`), teaching an encoder a new vocabulary (:mod:`.vocab_transfer`), and the
offline encoders built from the installed wheels on first use (:mod:`.chinese`), cached by
recipe (:mod:`.cache`) with a model card each (:mod:`.card`)."""
