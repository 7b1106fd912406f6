"""Evaluation metrics of the official StyleGAN / ProGAN code: FID, KID, perceptual path length, sliced Wasserstein
distance, precision/recall (``metric_defaults`` names them; ``evaluate.evaluate`` and ``stylegan-metrics`` run
them; ``weights`` fetches the pretrained networks that ``inception`` and ``lpips`` rebuild in Keras)."""
