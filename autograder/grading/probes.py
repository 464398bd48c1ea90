"""The grader's probes: they run inside the worker and call the student's code.

Each probe takes inputs the grader sent, calls the submission's functions on
them (through ``student.function`` and ``student.student_call``) and returns
what came back: tensors and JSON values, which the grader judges.  A probe
never decides pass or fail.  ``@probe("name")`` registers a probe in
``PROBES`` under the name the checks call it by.

An exception raised by the student's code is ``student.StudentRaised``;
anything else going wrong while a probe examines a result (a non-tensor where
a tensor was expected, a tensor subclass that refuses to be copied, ...)
propagates as an ordinary exception and the worker reports it as a bad result.
"""
import numbers

import torch

from autograder.grading.student import StudentRaised, function, safe_str, student_call

PROBES = {}


def probe(name):
    """Decorator: register a probe function under ``name``."""
    def decorate(fn):
        PROBES[name] = fn
        return fn
    return decorate


def describe(value):
    """What came back: the tensor itself (as a plain copy) plus its metadata, or a repr."""
    if isinstance(value, torch.Tensor):
        return {
            "tensor": value,
            "type": type(value).__name__,
            "dtype": str(value.dtype),
            "device": str(value.device),
            "shape": list(value.shape),
            "requires_grad": bool(value.requires_grad),
            "has_grad_fn": value.grad_fn is not None,
        }
    return {"tensor": None, "type": type(value).__name__, "repr": safe_str(repr(value), 200)}


def describe_number(value):
    """A returned number: its type, whether it is a real number, and its float value."""
    out = {"type": type(value).__name__, "repr": safe_str(repr(value), 200),
           "is_real": isinstance(value, numbers.Real), "value": None}
    if isinstance(value, numbers.Real):
        out["value"] = float(value)
    return out


# ---------------------------------------------------------------------------
# Probes: name -> function(**kwargs) -> JSON/tensor payload
# ---------------------------------------------------------------------------

@probe("reparameterize")
def p_reparameterize(mu, logvar, seed=None, repeat=1, grad_weight=None):
    """Call reparameterize(mu, logvar) ``repeat`` times after an optional seed.

    With ``grad_weight`` w, mu and logvar require grad and the probe back-propagates
    sum(w * z) through the first z, returning the gradients.
    """
    fn = function("vae", "reparameterize")
    mu_in, logvar_in = mu.clone(), logvar.clone()
    if grad_weight is not None:
        mu_in.requires_grad_(True)
        logvar_in.requires_grad_(True)
    if seed is not None:
        torch.manual_seed(seed)
    outs = [student_call(fn, mu_in, logvar_in) for _ in range(repeat)]
    result = {"outs": [describe(z) for z in outs],
              "mu_after": mu_in.detach(), "logvar_after": logvar_in.detach()}
    if grad_weight is not None:
        z = outs[0]
        result["grad_mu"] = result["grad_logvar"] = None
        if isinstance(z, torch.Tensor) and z.requires_grad:
            student_call(lambda: (z * grad_weight).sum().backward())
            result["grad_mu"], result["grad_logvar"] = mu_in.grad, logvar_in.grad
    return result


@probe("kl")
def p_kl(mu, logvar, kwargs=None, grad=False):
    """Call kl_divergence(mu, logvar, **kwargs); with ``grad``, back-propagate its sum."""
    fn = function("vae", "kl_divergence")
    mu_in, logvar_in = mu.clone(), logvar.clone()
    if grad:
        mu_in.requires_grad_(True)
        logvar_in.requires_grad_(True)
    out = student_call(fn, mu_in, logvar_in, **(kwargs or {}))
    result = {"out": describe(out), "mu_after": mu_in.detach(), "logvar_after": logvar_in.detach()}
    if grad:
        result["grad_mu"] = result["grad_logvar"] = None
        if isinstance(out, torch.Tensor) and out.requires_grad:
            student_call(lambda: out.sum().backward())
            result["grad_mu"], result["grad_logvar"] = mu_in.grad, logvar_in.grad
    return result


@probe("warmup")
def p_warmup(calls):
    """Call kl_warmup(*args, **kwargs) for each [args, kwargs]; one result or exception each."""
    fn = function("schedules", "kl_warmup")
    results = []
    for args, kwargs in calls:
        try:
            results.append({"ok": describe_number(student_call(fn, *args, **kwargs))})
        except StudentRaised as raised:
            if "NotImplementedError" in raised.info["mro"]:
                raise
            results.append({"raised": raised.info})
    return results


def _unpack(value, n, what):
    if not isinstance(value, (tuple, list)) or len(value) != n:
        raise TypeError(f"{what} returned {describe(value)['type']}, expected a tuple of {n} values")
    return list(value)


def _as_float(value):
    """A reported number (a Python float, or a one-element tensor) as a float; NaN for anything else."""
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach().to(torch.float64).reshape(()))
    return float("nan")


@probe("vae")
def p_vae(z_dim, x, seed, betas=(1.0,), decode_z=None):
    """Build VAE(z=z_dim) under ``seed``; call encode(x), decode(decode_z) and forward(x, beta).

    Every forward pass starts from the same seed, so they all draw the same z.
    """
    torch.manual_seed(seed)
    model = student_call(function("vae", "VAE"), z=z_dim)
    x_in = x.clone()
    mu, logvar = _unpack(student_call(model.encode, x_in), 2, "VAE.encode")
    result = {"mu": describe(mu), "logvar": describe(logvar)}
    if decode_z is not None:
        result["decoded"] = describe(student_call(model.decode, decode_z))
    result["forward"] = []
    for beta in betas:
        torch.manual_seed(seed + 1)
        x_hat, loss, recon, kl = _unpack(student_call(model, x_in, beta=beta), 4, "VAE.forward")
        result["forward"].append({"x_hat": describe(x_hat), "loss": describe(loss),
                                  "recon": describe_number(recon), "kl": describe_number(kl)})
    result["x_after"] = x_in
    return result


@probe("samples")
def p_samples(seed, shape, use_set_seed=False, dtype="float32", logvar=0.0):
    """Seed (torch.manual_seed, or the lab's set_seed), then reparameterize(zeros, full(logvar))."""
    fn = function("vae", "reparameterize")
    if use_set_seed:
        student_call(function("train_vae", "set_seed"), seed)
    else:
        torch.manual_seed(seed)
    mu = torch.zeros(shape, dtype=getattr(torch, dtype))
    return {"out": describe(student_call(fn, mu, torch.full_like(mu, float(logvar))))}


class Adam:
    """``torch.optim.Adam(params, lr)`` on CPU, step for step and bit for bit, without torch.optim.

    The same updates in the same order as torch's single-tensor Adam (betas 0.9
    and 0.999, eps 1e-8, no weight decay, no amsgrad), written out:

        m = m + (1 - beta1) * (g - m)                  (exp_avg.lerp_)
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Why not torch.optim.Adam itself: its first call imports torch._dynamo
    (``torch._disable_dynamo``), which takes longer than importing torch, in
    every worker.  ``tests/autograder/test_grading.py`` checks that training
    the lab's VAE gives bitwise the same weights with either.
    """

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.eps = list(params), lr, eps
        self.beta1, self.beta2 = betas
        self.state = {}   # id(param) -> [step, exp_avg, exp_avg_sq]

    def zero_grad(self, set_to_none=True):
        for param in self.params:
            param.grad = None

    @torch.no_grad()
    def step(self):
        for param in self.params:
            if param.grad is None:
                continue
            grad = param.grad
            if id(param) not in self.state:
                zeros = [torch.zeros_like(param, memory_format=torch.preserve_format) for _ in range(2)]
                self.state[id(param)] = [torch.tensor(0.0), *zeros]
            step_t, exp_avg, exp_avg_sq = self.state[id(param)]
            step_t += 1
            exp_avg.lerp_(grad, 1 - self.beta1)
            exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
            step = step_t.item()
            step_size = self.lr / (1 - self.beta1 ** step)
            bias_correction2_sqrt = (1 - self.beta2 ** step) ** 0.5
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.eps)
            param.addcdiv_(exp_avg, denom, value=-step_size)


@probe("train")
def p_train(x, epochs, batch_size, lr, seed, z_dim, warmup_epochs, prior_z):
    """A short training run of the student's VAE with the grader's own loop and data.

    Mirrors the lab's ``train``: Adam, a seeded shuffle each epoch, the last
    incomplete batch dropped, beta from the reference linear warm-up.  Returns
    the mean loss and the mean KL term (as VAE.forward reported it) of each
    epoch, the trained weights (which the grader evaluates with its own
    reference model: the losses reported here are never taken on trust) and
    ``decode(prior_z)`` for the grader's ``prior_z``.
    """
    torch.manual_seed(seed)
    model = student_call(function("vae", "VAE"), z=z_dim)
    optimizer = Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    steps = len(x) // batch_size
    losses, kls = [], []
    for epoch in range(epochs):
        beta = 1.0 if warmup_epochs == 0 else min(1.0, epoch / warmup_epochs)
        model.train()
        perm = torch.randperm(len(x), generator=order)
        total = kl_total = 0.0
        for step in range(steps):
            xb = x[perm[step * batch_size:(step + 1) * batch_size]]
            optimizer.zero_grad(set_to_none=True)
            outputs = _unpack(student_call(model, xb, beta=beta), 4, "VAE.forward")
            loss = outputs[1]
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                raise TypeError(f"VAE.forward returned a loss of type {describe(loss)['type']}, "
                                "expected a one-element tensor")
            student_call(loss.backward)
            optimizer.step()
            total += float(loss.detach().to(torch.float64).reshape(()))
            kl_total += _as_float(outputs[3])
        losses.append(total / steps)
        kls.append(kl_total / steps)
    model.eval()
    with torch.no_grad():
        samples = student_call(model.decode, prior_z)
    weights = {str(name): value.detach() for name, value in model.state_dict().items()}
    return {"losses": torch.tensor(losses, dtype=torch.float64), "kls": torch.tensor(kls, dtype=torch.float64),
            "samples": describe(samples), "weights": weights}
