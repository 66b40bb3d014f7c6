"""Judges: ways a pack asks that are more than one reasoned answer (``method:`` of a pack).

``clue`` (:mod:`grounddefake.judges.clue`): rule packs judged by debiased Yes/No token probabilities of each
precondition, region ablation and a reasoned cascade where those stay undecided (CLUE, arXiv 2501.00192).
"""
