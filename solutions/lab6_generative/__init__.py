"""Lab 6: generative modelling with a variational autoencoder on Fashion-MNIST.

Modules, one concern each:

- ``vae``          the model, the reparameterization trick and the two ELBO terms
- ``schedules``    the KL warm-up schedule for beta
- ``data``         Fashion-MNIST through torchvision, decoded once, batched by slicing
- ``train_vae``    the training loop and the command ``python -m lab6_generative.train_vae``
- ``diagnostics``  did it work: the acceptance criterion, KL collapse, all-gray samples
- ``artifacts``    what a run writes: image grids, the loss curve, history.json, the weights
- ``anomaly``      anomaly scores, AUROC and latent interpolation
- ``cli``          the options and one-line errors both commands share
- ``_cache``       the decoded-data cache behind ``data.load_fashion_mnist``
"""
