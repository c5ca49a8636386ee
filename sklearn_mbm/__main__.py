"""Command line: ``python -m sklearn_mbm demo [options]``.

Exit codes: 0 success (also when only the plot was skipped), 1 the demo
failed (e.g. data not found), 2 bad command line.
"""

import argparse
import sys

DESCRIPTION = """\
sklearn-mbm: multimodal (image, text, audio) learning with scikit-learn.

Run `python -m sklearn_mbm demo --help` for the demo's options."""

DEMO_DESCRIPTION = """\
Learn to recognise digits from a handwritten image, a spoken recording and a
noisy transcript. Logistic regression on each modality alone, then on the
three fused (FusionTransformer, concat) with equal weights and with weights
tuned by a grid search (fusion_weight_grid), all scored by
leave-one-speaker-out cross-validation. Prints a table of accuracy and macro
F1 (mean ± std over folds) and saves a plot of the score across the weight
grid. Offline: runs on the 600-record sample shipped with the package in
under a minute. Every setting is a Pipeline of the real extractors; a shared
FusionTransformer cache (a temporary folder) means each extractor is fitted
once per fold and the fused runs and the weight search reuse those features.
Progress goes to stderr,
results to stdout. Exit status: 0 done (even if the plot was skipped), 1
failed, 2 bad options."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_mbm",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    demo = commands.add_parser(
        "demo",
        help="image, audio and text alone vs fused, on audio-visual digits",
        description=DEMO_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--output",
        "-o",
        metavar="PATH",
        default=None,
        help="where to save the plot (PNG); default: "
        "av_digits_fusion_weights.png in the current directory",
    )
    demo.add_argument("--no-plot", action="store_true", help="do not draw the plot")
    demo.add_argument(
        "--full",
        action="store_true",
        help="use the full 3,000-record set (fetch_av_digits) instead of the "
        "bundled 600-record sample; slower",
    )
    demo.add_argument(
        "--data-home",
        metavar="DIR",
        default=None,
        help="with --full: folder holding fsdd/recordings/*.wav and "
        "mnist/t10k-*-idx*-ubyte.gz (downloaded there if missing and online)",
    )
    demo.add_argument(
        "--no-download",
        action="store_true",
        help="with --full: fail if files are missing instead of downloading them",
    )
    demo.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        metavar="N",
        help="cross-validation fits run in parallel (-1: all cores); default 1",
    )
    demo.add_argument(
        "--quiet", "-q", action="store_true", help="no progress messages on stderr"
    )
    # for tests and quick looks: a stratified random subset
    demo.add_argument("--max-samples", type=int, default=None, help=argparse.SUPPRESS)
    demo.add_argument(
        "--weight-values", type=float, nargs="+", default=None, help=argparse.SUPPRESS
    )
    return parser


def main(argv=None):
    """Parse ``argv`` and run the command; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(parser, args)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover


def _demo(parser, args):
    from sklearn_mbm import _demo

    if args.data_home is not None and not args.full:
        parser.error("--data-home is used with --full only")
    if args.no_download and not args.full:
        parser.error("--no-download is used with --full only")
    if args.max_samples is not None and args.max_samples < 20:
        parser.error("--max-samples must be at least 20")
    if args.no_plot and args.output is not None:
        parser.error("--output and --no-plot contradict each other")
    output = None if args.no_plot else (args.output or _demo.DEFAULT_OUTPUT)
    try:
        if output is not None:
            _demo.check_output(output)
        _demo.run_demo(
            full=args.full,
            data_home=args.data_home,
            download=not args.no_download,
            output=output,
            n_jobs=args.n_jobs,
            quiet=args.quiet,
            max_samples=args.max_samples,
            weight_values=args.weight_values,
        )
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        # missing data, unwritable output, bad data: say what, not a traceback
        print(f"\nerror: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
