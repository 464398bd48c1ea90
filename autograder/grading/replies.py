"""What a worker may answer: every reply is checked here, in the grader, before any check reads it.

The worker runs the grader's probes next to the student's code, in one
interpreter the student controls: an ``__init__.py`` can replace the probes,
the wire encoder or anything else in there.  So a reply is evidence of what
the student's functions returned, never a report to believe.  This module is
the trust boundary for data (``session.CheckHandle.call`` applies it to every
reply):

- the envelope is exactly one of ``ok``, ``raised`` or ``bad``; an
  ``internal`` reply is believed only from a worker that has not imported the
  submission yet (``session.Session.ensure_worker``), never here;
- counts equal what was asked (one result per warm-up call, ``repeat``
  draws, one forward pass per beta);
- every tensor is a plain tensor of a numeric dtype, no larger than its
  inputs allow (so no comparison the checks make can blow up), and every
  claim the worker makes about it (dtype, shape) matches the tensor itself;
- gradients and "inputs after the call" have the exact shape and dtype of
  what was sent;
- text (exception types and messages, reprs) is made printable and cut.

The checks then compute every verdict themselves from these raw outputs; where
work has to happen in the worker (a training run), they verify its outcome
with their own reference model (``checks/support.py``).  What a rewritten
probe can still do is return what *some* implementation of the student's
functions could return: it earns what that implementation would earn.

Anything malformed raises ``errors.BadResult``: the test fails with the
reason, never an internal error of the grader.
"""
import math

import torch

from autograder.errors import BadResult
from autograder.grading.student import MODULES
from autograder.text import clean

_MODULES = set(MODULES.values())

DTYPES = {torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.uint8, torch.int8,
          torch.int16, torch.int32, torch.int64, torch.bool}
TEXT_LIMIT = 2000       # characters of an exception message
NAME_LIMIT = 200        # characters of a type name, repr or place
MAX_LIST = 4096         # entries of any list in a reply
MAX_WEIGHTS = 64        # tensors in a returned state_dict


def _text(value, limit=NAME_LIMIT):
    return clean(value if isinstance(value, str) else "", limit)


def envelope(response):
    """(kind, body) of a reply: kind is 'ok', 'raised' or 'bad'; BadResult for anything else."""
    if not isinstance(response, dict) or len(response) != 1:
        raise BadResult("the worker's reply was not one of the grader's answers (a rewritten worker?)")
    (kind, body), = response.items()
    if kind not in ("ok", "raised", "bad"):
        raise BadResult(f"the worker's reply {_text(kind, 40)!r} is not an answer the grader accepts "
                        "once your code is imported (a rewritten worker?)")
    if kind == "raised":
        body = raised_info(body)
    elif kind == "bad":
        body = _text(body, TEXT_LIMIT)
    return kind, body


def raised_info(info):
    """A clean copy of an exception description (student.describe_exception's fields)."""
    if not isinstance(info, dict):
        raise BadResult("the worker described an exception in a form the grader does not accept")
    mro = info.get("mro") if isinstance(info.get("mro"), list) else []
    out = {"type": _text(info.get("type"), 100) or "Exception",
           "mro": [_text(name, 100) for name in mro[:64]],
           "message": _text(info.get("message"), TEXT_LIMIT),
           "where": _text(info.get("where")) or None,
           # only a module the grader imports can have failed to import: not free text
           "during_import": info.get("during_import") if info.get("during_import") in _MODULES else None}
    if not out["mro"]:
        out["mro"] = [out["type"]]
    return out


def _shape(t):
    return "(" + ", ".join(map(str, t.shape)) + ("," if t.dim() == 1 else "") + ")"


def tensor(value, what, limit=None, like=None, name="a tensor"):
    """``value`` if it is a plain tensor within ``limit`` elements (and exactly like ``like``)."""
    if type(value) is not torch.Tensor:
        raise BadResult(f"{what}: the reply holds {type(value).__name__} where {name} belongs")
    if value.dtype not in DTYPES:
        raise BadResult(f"{what} returned a tensor of dtype {value.dtype}; use a float tensor")
    if like is not None and (value.shape != like.shape or value.dtype != like.dtype):
        raise BadResult(f"{what}: {name} came back with shape {_shape(value)} and dtype {value.dtype}, "
                        f"not the {_shape(like)} {like.dtype} that was sent")
    if limit is not None and value.numel() > limit:
        raise BadResult("it returns more values than its inputs can give: check which dimensions you reduce "
                        "and that you do not broadcast two tensors of different shapes. "
                        f"{what} returned a tensor of shape {_shape(value)} ({value.numel()} values), "
                        f"more than the {limit} its inputs can give")
    return value


def described(desc, what, limit):
    """A ``probes.describe`` result, rebuilt from the tensor itself (claims that disagree are refused)."""
    if not isinstance(desc, dict):
        raise BadResult(f"{what}: the reply does not describe a returned value")
    if desc.get("tensor") is None:
        return {"tensor": None, "type": _text(desc.get("type"), 100), "repr": _text(desc.get("repr"))}
    t = tensor(desc["tensor"], what, limit)
    if desc.get("dtype") != str(t.dtype) or desc.get("shape") != list(t.shape):
        raise BadResult(f"{what}: the worker described a tensor of dtype {_text(desc.get('dtype'), 40)} and "
                        f"shape {_text(str(desc.get('shape')), 60)}, but sent {t.dtype} {_shape(t)} "
                        "(a rewritten probe?)")
    device = desc.get("device")
    if not isinstance(device, str) or len(device) > 40:
        raise BadResult(f"{what}: the reply names no device for the returned tensor")
    flags = {key: desc.get(key) for key in ("requires_grad", "has_grad_fn")}
    if not all(isinstance(v, bool) for v in flags.values()):
        raise BadResult(f"{what}: the reply's gradient flags are not true or false")
    return {"tensor": t, "type": _text(desc.get("type"), 100), "dtype": str(t.dtype), "device": clean(device),
            "shape": list(t.shape), **flags}


def number(desc, what):
    """A ``probes.describe_number`` result: is_real and a float value that agree."""
    if not isinstance(desc, dict) or not isinstance(desc.get("is_real"), bool):
        raise BadResult(f"{what}: the reply does not describe a returned number")
    value = desc.get("value")
    if desc["is_real"]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadResult(f"{what}: the reply claims a real number but holds {type(value).__name__}")
        try:
            value = float(value)
        except OverflowError:
            raise BadResult(f"{what}: the reply holds an integer too large for a float") from None
    else:
        value = None
    return {"type": _text(desc.get("type"), 100), "repr": _text(desc.get("repr")),
            "is_real": desc["is_real"], "value": value}


def _list(value, what, count=None):
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise BadResult(f"{what}: the reply holds no list of results where one belongs")
    if count is not None and len(value) != count:
        raise BadResult(f"{what}: {count} result{'s' if count != 1 else ''} were asked for, the reply "
                        f"holds {len(value)} (a rewritten probe?)")
    return value


def _dict(value, what, keys):
    if not isinstance(value, dict) or not set(keys) <= set(value):
        raise BadResult(f"{what}: the reply lacks {', '.join(sorted(set(keys) - set(value or {})))}"
                        if isinstance(value, dict) else f"{what}: the reply is not a mapping")
    return value


def _grads(payload, out, what, mu, logvar):
    for key, like in (("grad_mu", mu), ("grad_logvar", logvar)):
        value = payload.get(key)
        out[key] = None if value is None else tensor(value, what, like=like, name=f"the gradient {key[5:]}")


# ---------------------------------------------------------------------------
# One validator per probe: (kwargs sent, payload received, what) -> payload to hand the check
# ---------------------------------------------------------------------------

def _reparameterize(kw, payload, what):
    mu, logvar = kw["mu"], kw["logvar"]
    payload = _dict(payload, what, ("outs", "mu_after", "logvar_after"))
    outs = _list(payload["outs"], what, int(kw.get("repeat", 1)))
    out = {"outs": [described(d, what, mu.numel()) for d in outs],
           "mu_after": tensor(payload["mu_after"], what, like=mu, name="mu after the call"),
           "logvar_after": tensor(payload["logvar_after"], what, like=logvar, name="logvar after the call")}
    if kw.get("grad_weight") is not None:
        _grads(payload, out, what, mu, logvar)
    return out


def _kl(kw, payload, what):
    mu, logvar = kw["mu"], kw["logvar"]
    payload = _dict(payload, what, ("out", "mu_after", "logvar_after"))
    out = {"out": described(payload["out"], what, max(1, mu.numel())),
           "mu_after": tensor(payload["mu_after"], what, like=mu, name="mu after the call"),
           "logvar_after": tensor(payload["logvar_after"], what, like=logvar, name="logvar after the call")}
    if kw.get("grad"):
        _grads(payload, out, what, mu, logvar)
    return out


def _warmup(kw, payload, what):
    results = _list(payload, what, len(kw["calls"]))
    out = []
    for item in results:
        if not isinstance(item, dict) or len(item) != 1 or not ({"ok", "raised"} & set(item)):
            raise BadResult(f"{what}: a result is neither a value nor an exception (a rewritten probe?)")
        out.append({"ok": number(item["ok"], what)} if "ok" in item else {"raised": raised_info(item["raised"])})
    return out


def _vae(kw, payload, what):
    x, betas = kw["x"], list(kw.get("betas", (1.0,)))
    limit = 4 * (x.numel() + (kw["decode_z"].numel() if kw.get("decode_z") is not None else 0)) + 4096
    payload = _dict(payload, what, ("mu", "logvar", "forward", "x_after"))
    out = {"mu": described(payload["mu"], what, limit), "logvar": described(payload["logvar"], what, limit)}
    if kw.get("decode_z") is not None:
        out["decoded"] = described(_dict(payload, what, ("decoded",))["decoded"], what, limit)
    out["forward"] = []
    for row in _list(payload["forward"], what, len(betas)):
        row = _dict(row, what, ("x_hat", "loss", "recon", "kl"))
        out["forward"].append({"x_hat": described(row["x_hat"], what, limit),
                               "loss": described(row["loss"], what, limit),
                               "recon": number(row["recon"], what), "kl": number(row["kl"], what)})
    out["x_after"] = tensor(payload["x_after"], what, like=x, name="x after the call")
    return out


def _samples(kw, payload, what):
    payload = _dict(payload, what, ("out",))
    return {"out": described(payload["out"], what, max(1, math.prod(kw["shape"])))}


def _train(kw, payload, what):
    x, prior_z = kw["x"], kw["prior_z"]
    payload = _dict(payload, what, ("losses", "kls", "samples", "weights"))
    per_epoch = {}
    for key, name in (("losses", "losses"), ("kls", "KL terms")):
        values = tensor(payload[key], what, name=f"the {name}")
        if values.dtype != torch.float64 or tuple(values.shape) != (kw["epochs"],):
            raise BadResult(f"{what}: the reply holds {values.numel()} epoch {name} of dtype {values.dtype}, "
                            f"not {kw['epochs']} float64 values (a rewritten probe?)")
        per_epoch[key] = values
    weights = payload["weights"]
    if not isinstance(weights, dict) or len(weights) > MAX_WEIGHTS:
        raise BadResult(f"{what}: the reply holds no trained weights (a rewritten probe?)")
    budget = 4 * x.numel() + 2**20
    checked = {}
    for name, value in weights.items():
        checked[_text(name, 100)] = tensor(value, what, budget, name=f"the weight {_text(name, 100)}")
        budget -= value.numel()
    return {"losses": per_epoch["losses"], "kls": per_epoch["kls"], "weights": checked,
            "samples": described(payload["samples"], what, 4 * (prior_z.numel() + 784 * prior_z.shape[0]))}


VALIDATORS = {"reparameterize": _reparameterize, "kl": _kl, "warmup": _warmup, "vae": _vae,
              "samples": _samples, "train": _train}


def check(probe, kwargs, payload, what):
    """The payload of an ``ok`` reply to ``probe(**kwargs)``, validated; BadResult otherwise."""
    validator = VALIDATORS.get(probe)
    if validator is None:  # a probe this module does not know yet: the grader's own mistake
        raise KeyError(f"no reply validator for probe {probe!r}")
    return validator(kwargs, payload, what)

