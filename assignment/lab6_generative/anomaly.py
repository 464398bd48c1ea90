"""Anomaly detection with a VAE, and a walk through its latent space.

A VAE trained on "normal" data reconstructs normal images well and unfamiliar
ones badly, so the reconstruction error is an anomaly score.  Here "normal"
is every Fashion-MNIST class but one; the held-out class plays the anomaly
(a manufacturing line would hold out defective parts):

    python -m lab6_generative.anomaly --holdout-class 9        # ankle boots are the anomaly
    python -m lab6_generative.anomaly --all-classes            # AUROC for each held-out class
    python -m lab6_generative.anomaly --model outputs/vae.safetensors --holdout-class 9

Two scores per test image, higher = more anomalous:

    reconstruction  BCE(decode(mu(x)), x), summed over pixels
    neg_elbo        BCE(decode(z), x) + KL(q(z|x) || N(0, I)), z sampled once:
                    an estimate of -log p(x) from above

The AUROC (area under the ROC curve, scikit-learn's ``roc_auc_score``) is the
probability that a random held-out image scores higher than a random normal
one: 0.5 is chance, 1.0 a perfect detector.  It also writes a histogram of
the scores with the ROC curve, and an interpolation grid: decoding points on
the straight line between the latent means of two test images.
"""
import json
import os
import sys

import torch

from . import cli
from .artifacts import load_weights, save_grid, save_weights
from .data import CLASSES, to_float
from .train_vae import set_seed, train
from .vae import KLValueError, VAE, kl_divergence, reconstruction_loss, reparameterize

SCORES = ("reconstruction", "neg_elbo")


@torch.no_grad()
def anomaly_scores(model, x, seed=0, batch_size=1000):
    """Per-image anomaly scores of the images ``x`` (float, (N, 1, 28, 28)).

    Returns a dict of 1-d tensors, one value per image, for each name in ``SCORES``.
    """
    model.eval()
    torch.manual_seed(seed)  # the ELBO estimate samples z
    out = {name: [] for name in SCORES}
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        mu, logvar = model.encode(xb)
        out["reconstruction"].append(reconstruction_loss(model.decode(mu), xb, reduction="none"))
        sampled = reconstruction_loss(model.decode(reparameterize(mu, logvar)), xb, reduction="none")
        out["neg_elbo"].append(sampled + kl_divergence(mu, logvar, reduction="none"))
    return {name: torch.cat(parts).cpu() for name, parts in out.items()}


def auroc(scores, is_anomaly):
    """Area under the ROC curve of ``scores`` for telling anomalies (True) from normal images."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(is_anomaly.numpy(), scores.numpy()))


def save_score_plots(scores, is_anomaly, holdout, path):
    """One row per score: a histogram of normal vs held-out scores, and the ROC curve."""
    import numpy as np
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_curve

    rows = len(scores)
    fig = Figure(figsize=(10, 3.6 * rows))
    # Fixed margins instead of a layout engine: measuring every label to place the axes took
    # longer than drawing them (with --all-classes, 10 figures).
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.5 / (3.6 * rows), top=1 - 0.35 / (3.6 * rows),
                        wspace=0.22, hspace=0.4)
    axes = fig.subplots(rows, 2, squeeze=False)
    name = CLASSES[holdout]
    for (hist, roc), (score_name, values) in zip(axes, scores.items()):
        v, a = values.numpy(), is_anomaly.numpy()
        bins = np.histogram_bin_edges(v, bins=50)  # the same bins for both groups
        # stepfilled: one outline per group instead of 50 bars
        hist.hist(v[~a], bins=bins, alpha=0.6, density=True, histtype="stepfilled", label="normal (other classes)")
        hist.hist(v[a], bins=bins, alpha=0.6, density=True, histtype="stepfilled", label=f"held out: {name}")
        hist.set(xlabel=f"{score_name} score (nats)", ylabel="density", title=f"{score_name}: score histogram")
        hist.legend()
        fpr, tpr, _ = roc_curve(a, v)
        roc.plot(fpr, tpr, label=f"AUROC = {auroc(values, is_anomaly):.3f}")
        roc.plot([0, 1], [0, 1], linestyle="--", color="gray", label="chance")
        roc.set(xlabel="false positive rate", ylabel="true positive rate", title=f"{score_name}: ROC")
        roc.legend(loc="lower right")
    fig.savefig(path, dpi=90)


@torch.no_grad()
def interpolate(model, x_a, x_b, steps=10):
    """Decode ``steps`` points evenly spaced from mu(x_a) to mu(x_b): (steps, 1, 28, 28)."""
    model.eval()
    mu_a, mu_b = model.encode(x_a.unsqueeze(0))[0], model.encode(x_b.unsqueeze(0))[0]
    t = torch.linspace(0, 1, steps, device=mu_a.device).unsqueeze(1)
    return model.decode((1 - t) * mu_a + t * mu_b)


def save_interpolation(model, test_x, test_y, path, pairs=6, steps=10):
    """Rows of interpolations between test images of different classes (originals at both ends)."""
    firsts = [int((test_y == c).nonzero()[0]) for c in range(10) if (test_y == c).any()]
    rows = []
    for i in range(min(pairs, len(firsts))):
        a, b = firsts[i], firsts[(i + 3) % len(firsts)]
        rows += [test_x[a:a + 1], interpolate(model, test_x[a], test_x[b], steps), test_x[b:b + 1]]
    save_grid(torch.cat(rows), path, nrow=steps + 2, pad_value=0.5)


def run_holdout(args, train_images, train_labels, test_x, test_y, holdout, device, model=None):
    """Train without class ``holdout`` (unless a model is given), score the test set, save plots."""
    if model is None:
        set_seed(args.seed)
        keep = train_labels != holdout
        x = to_float(train_images[keep][: args.subset]).to(device)
        if len(x) < args.batch_size:
            cli.fail(f"only {len(x)} training images left without class {holdout}: fewer than one batch", code=2)
        model = VAE(z=args.z).to(device)
        train(model, x, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, beta=args.beta,
              warmup_epochs=args.warmup_epochs, seed=args.seed, progress=False)
        save_weights(model, os.path.join(args.out_dir, f"vae_holdout{holdout}.safetensors"),
                     z=args.z, seed=args.seed, holdout_class=holdout)
    is_anomaly = (test_y == holdout)
    if is_anomaly.all() or not is_anomaly.any():
        cli.fail(f"the test set needs images of class {holdout} and of other classes to compute an AUROC", code=2)
    scores = anomaly_scores(model, test_x, seed=args.seed)
    save_score_plots(scores, is_anomaly, holdout, os.path.join(args.out_dir, f"anomaly_class{holdout}.png"))
    result = {"holdout_class": holdout, "class_name": CLASSES[holdout],
              "auroc": {name: auroc(values, is_anomaly) for name, values in scores.items()}}
    return model, result


def build_anomaly_parser():
    p = cli.build_parser("python -m lab6_generative.anomaly", __doc__.splitlines()[0])
    p.set_defaults(out_dir=os.path.join("outputs", "anomaly"))
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--holdout-class", type=int, choices=range(10), metavar="N",
                       help="the class (0-9) left out of training and treated as the anomaly: "
                       + ", ".join(f"{i} {c}" for i, c in enumerate(CLASSES)))
    which.add_argument("--all-classes", action="store_true", help="hold out each class in turn; print a table")
    p.add_argument("--model", help="score with these saved weights (vae.safetensors) instead of training")
    return p


def main(argv=None):
    args = build_anomaly_parser().parse_args(argv)
    if args.model and args.all_classes:
        cli.fail("--model scores one saved model: use it with --holdout-class N, not --all-classes", code=2)
    device = cli.pick_device(args.device)
    cli.make_out_dir(args.out_dir)
    model = None
    if args.model:
        try:
            model, metadata = load_weights(args.model, device)
        except Exception as err:  # missing, not safetensors, or not this model's weights
            cli.fail(f"could not load {args.model} as a lab6 VAE: {str(err).splitlines()[0]}", code=2)
        trained_without = metadata.get("holdout_class")
        if trained_without != str(args.holdout_class):
            print(f"Note: this model was trained {'with class ' + trained_without + ' held out' if trained_without else 'on all classes'}, "
                  f"so class {args.holdout_class} is not new to it: expect a lower AUROC.")
    set_seed(args.seed)
    train_images, train_labels = cli.load_split(args.data_dir, train=True) if model is None else (None, None)
    test_images, test_y = cli.load_split(args.data_dir, train=False)
    test_x = to_float(test_images).to(device)

    holdouts = range(10) if args.all_classes else [args.holdout_class]
    results = []
    print(f"{'held-out class':<22} {'AUROC recon':>11} {'AUROC -ELBO':>11}")
    for holdout in holdouts:
        try:
            trained, result = run_holdout(args, train_images, train_labels, test_x, test_y, holdout, device, model)
        except NotImplementedError:
            cli.fail("reparameterize, kl_divergence or kl_warmup is not implemented yet: fill in the TODOs, then run pytest")
        except KLValueError as err:  # as in train_vae: VAE.forward found a KL it cannot train on
            cli.fail(f"{err}; pytest shows more")
        results.append(result)
        print(f"{holdout} {CLASSES[holdout]:<20} {result['auroc']['reconstruction']:>11.3f} {result['auroc']['neg_elbo']:>11.3f}")
    if not args.all_classes:
        save_interpolation(trained, test_x, test_y, os.path.join(args.out_dir, "interpolation.png"))
    with open(os.path.join(args.out_dir, "anomaly.json"), "w") as f:
        json.dump({"results": results}, f, indent=2)
        f.write("\n")
    written = "anomaly_class*.png, anomaly.json" + ("" if args.all_classes else ", interpolation.png")
    print(f"Wrote {written} to {args.out_dir}/ (AUROC: 0.5 is chance, 1.0 a perfect detector).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
