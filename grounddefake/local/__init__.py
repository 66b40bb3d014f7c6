"""Open multimodal models run in this process with transformers (``pip install grounddefake[local]``).

``loading`` finds a checkpoint (offline first) and picks the device and dtype; ``inputs`` turns requests into model
inputs the way each family expects (chat template, image tokens, resize grid); ``scoring`` records log-probabilities
and the verdict-token distribution while the model generates. The backend that batches requests is
:class:`grounddefake.backends.local.LocalBackend`.
"""

from grounddefake.local.loading import LocalModelError, LocalOptions, is_local_ref

__all__ = ["LocalModelError", "LocalOptions", "is_local_ref"]
