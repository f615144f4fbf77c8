"""The command line: ``ember mnist train|eval`` and ``ember gpt train|sample``."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from ember.recipes import gpt, mnist

    parser = argparse.ArgumentParser(prog="ember", description="Train and sample models with ember.")
    tasks = parser.add_subparsers(dest="task", required=True)

    m = tasks.add_parser("mnist", help="train or evaluate an MLP/CNN on MNIST").add_subparsers(
        dest="action", required=True)
    m_train = m.add_parser("train", help="train and report test accuracy every epoch")
    mnist.add_arguments(m_train)
    m_train.set_defaults(run=mnist.train)
    m_eval = m.add_parser("eval", help="evaluate a checkpoint on the test set")
    mnist.add_eval_arguments(m_eval)
    m_eval.set_defaults(run=mnist.evaluate_checkpoint)

    g = tasks.add_parser("gpt", help="train a GPT on a text file or sample from one").add_subparsers(
        dest="action", required=True)
    g_train = g.add_parser("train", help="train a GPT (char or BPE tokens)")
    gpt.add_arguments(g_train)
    g_train.set_defaults(run=gpt.train)
    g_sample = g.add_parser("sample", help="generate text from a checkpoint")
    gpt.add_sample_arguments(g_sample)
    g_sample.set_defaults(run=gpt.sample)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (FileNotFoundError, RuntimeError, ValueError) as e:
        print(f"ember {args.task} {args.action}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # checkpoints are written atomically, so the last one is whole
        print(f"ember {args.task} {args.action}: interrupted", file=sys.stderr)
        return 130
    return 0
