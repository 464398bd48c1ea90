"""The original lab's test, unchanged: the model's output has the input's shape."""


def test_vae_shapes():
    from lab6_generative.train_vae import VAE
    import torch
    m=VAE(z=8); x=torch.rand(4,1,28,28)
    xr, loss, r, k = m(x, beta=1.0)
    assert xr.shape==(4,1,28,28)
