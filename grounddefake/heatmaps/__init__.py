"""Dense heatmaps from any model: the ``--heatmap`` modes (``boxes``, ``consensus:N``, ``probe:K``), their maps and
how a map is stored in the run directory."""
