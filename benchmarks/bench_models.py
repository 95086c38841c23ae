"""Training and prediction throughput of every built-in architecture, in one run.

    python benchmarks/bench_models.py [--windows 512] [--repeats 3]

For each architecture at its default input length and hyper-parameters, on this
machine's CPU (``--device cuda`` for a GPU):

- training: windows per second through :func:`scanner.models.fit`'s inner step
  (one-hot built from base codes on the device, forward, loss, backward, Adam) at
  the default batch size (64), measured over ``--windows`` windows after one
  warm-up batch;
- prediction: windows per second of :func:`scanner.models.training.predict_codes`
  (base codes in, outputs out, batch 256), against ``tangermeme.predict.predict``
  on the same model with the one-hot tensor already built (batch 256) -- the
  routine a user of tangermeme would call. The ratio is tangermeme's time over
  ours (> 1: we are faster). One-hot building is counted for us, not for
  tangermeme.

Best of ``--repeats`` runs. torch uses all cores it is given.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from scanner.models.architectures import ARCHITECTURES, build_model
from scanner.models.training import loss_function, one_hot_batch, predict_codes


def best_of(repeats, func):
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        func()
        times.append(time.perf_counter() - began)
    return min(times)


def training_rate(model, codes, labels, batch_size, device, repeats):
    criterion = loss_function("classification")
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()

    def step(index):
        x = one_hot_batch(codes[index], device=device)
        loss = criterion(model(x), labels[index].to(device))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    step(np.arange(batch_size))  # warm-up

    def epoch():
        for begin in range(0, len(codes), batch_size):
            step(np.arange(begin, min(begin + batch_size, len(codes))))

    return len(codes) / best_of(repeats, epoch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--architectures", nargs="*", default=sorted(ARCHITECTURES))
    args = parser.parse_args()
    try:
        from tangermeme.predict import predict as tangermeme_predict
    except ImportError:
        tangermeme_predict = None
        print("tangermeme not installed (pip install tangermeme): no comparison column")
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}, {args.windows} windows, best of {args.repeats}")
    header = f"{'architecture':<14}{'input':>7}{'parameters':>12}{'train w/s':>11}{'predict w/s':>13}{'tangermeme w/s':>16}{'ratio':>7}"
    print(header)
    for name in args.architectures:
        torch.manual_seed(0)
        model = build_model(name).to(device)
        length = model.input_length
        rng = np.random.default_rng(0)
        codes = rng.integers(0, 4, (args.windows, length)).astype(np.uint8)
        labels = torch.from_numpy(rng.integers(0, 2, (args.windows, 1)).astype(np.float32))
        train = training_rate(model, codes, labels, 64, device, args.repeats)
        model.eval()
        predict_codes(model, codes[:256], device=device)  # warm-up
        ours = args.windows / best_of(args.repeats, lambda: predict_codes(model, codes, batch_size=256, device=device))
        theirs_text, ratio_text = "-", "-"
        if tangermeme_predict is not None:
            x = one_hot_batch(codes)
            theirs = args.windows / best_of(
                args.repeats, lambda: tangermeme_predict(model, x, batch_size=256, device=str(device))
            )
            theirs_text, ratio_text = f"{theirs:,.0f}", f"{ours / theirs:.2f}"
        parameters = sum(p.numel() for p in model.parameters())
        print(f"{name:<14}{length:>7}{parameters:>12,}{train:>11,.0f}{ours:>13,.0f}{theirs_text:>16}{ratio_text:>7}")


if __name__ == "__main__":
    main()
