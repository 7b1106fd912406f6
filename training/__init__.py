"""Training StyleGAN / ProGAN: options and presets, the schedule, losses, augmentation, datasets (reading and
writing the official TFRecord format), the training step and the training loop."""
