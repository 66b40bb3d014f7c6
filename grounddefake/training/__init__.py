"""From evaluation to training: ground-truth answers in every pack's and family's syntax, SFT export, LoRA.

- :mod:`~grounddefake.training.targets`: the ground-truth reply to each turn of a pack (its schema, its convention).
- :mod:`~grounddefake.training.examples`: a sample's training conversation, rendered as ``eval`` renders it, and the
  train/val split by id hash.
- :mod:`~grounddefake.training.layouts`: the files each family's trainers read (``data export --to sft``).
- :mod:`~grounddefake.training.batches`, :mod:`~grounddefake.training.lora` (needs ``grounddefake[train]``),
  :mod:`~grounddefake.training.config`, :mod:`~grounddefake.training.checkpoints`: ``grounddefake train``.
"""
