"""Rerun the demo and rewrite the README's results: the table and the figure.

The README shows what ``python -m sklearn_mbm demo`` prints and draws on the
bundled sample. This script runs that demo (twice: with the default audio
statistics over 3 time segments and, for the sentence that compares them,
over the whole clip only), then

- rewrites the README block between ``<!-- demo-results:start -->`` and
  ``<!-- demo-results:end -->``: the sentence, the table and its footnote,
  with the date, the version and the run time;
- redraws ``docs/images/av_digits_fusion_weights.png`` from the same search,
  dated, its caption saying what the marked point is.

Run from the repository root: ``python docs/make_readme_results.py``
(about a minute on 2 cores). ``--check`` only runs the demo and fails when
the README's table differs from the new one (the numbers are deterministic
for given package versions).
"""

import argparse
import datetime
import io
import os
import re
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
FIGURE = REPO / "docs" / "images" / "av_digits_fusion_weights.png"
START, END = "<!-- demo-results:start -->", "<!-- demo-results:end -->"
THIS = "python docs/make_readme_results.py"


def run(n_segments):
    """The demo's result (rows, table, search) for ``n_segments``."""
    sys.path.insert(0, str(REPO))
    from sklearn_mbm._demo import run_demo

    out = io.StringIO()
    result = run_demo(output=None, n_segments=n_segments, quiet=True, stdout=out)
    return result, out.getvalue()


def accuracy(result, setting):
    (row,) = [r for r in result.rows if r["setting"] == setting]
    return row["accuracy"][0]


def block(result, whole_clip, today):
    """The README's results block, as Markdown."""
    from sklearn_mbm import __version__

    table = result.table.split("\n\n", 1)[1]  # without the demo's header
    best = "fused, best weights*"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    intro = (
        "It prints (the bundled 600 records, leave-one-speaker-out "
        "cross-validation, logistic regression; audio statistics over each "
        "clip and 3 time segments, `n_segments=3`, which lift audio alone "
        f"from {accuracy(whole_clip, 'audio alone'):.3f} to "
        f"{accuracy(result, 'audio alone'):.3f} and the best fusion from "
        f"{accuracy(whole_clip, best):.3f} to {accuracy(result, best):.3f}):"
    )
    footer = (
        "\\* weights chosen by the grid search on these same folds, so the "
        "score is optimistic; nested cross-validation would give an unbiased "
        f"one. Generated on {today} by `{THIS}` (sklearn-mbm {__version__}; "
        f"the demo ran {result.elapsed:.0f} s on {os.cpu_count()} cores at a "
        f"load average of {load:.1f})."
    )
    return "\n".join(
        [
            START,
            textwrap.fill(intro, 79),
            "",
            "```",
            table,
            "```",
            "",
            textwrap.fill(footer, 79),
            END,
        ]
    )


def draw(search, path, today):
    """The ternary plot of the demo's search, dated, its mark explained."""
    from matplotlib.figure import Figure

    from sklearn_mbm._demo import PLOT_TITLE
    from sklearn_mbm.plotting import plot_fusion_weights

    figure = Figure(figsize=(7.4, 6.6), layout="constrained")
    ax = figure.subplots()
    plot_fusion_weights(
        search,
        ax=ax,
        score="accuracy",
        title=PLOT_TITLE,
    )
    # a supxlabel gets its own room in the constrained layout
    figure.supxlabel(
        "Marked: the best weights of the grid (the README table's 'best "
        "weights*'), as shares summing to 1, chosen on these\nsame folds, so "
        "their score is optimistic. A corner is one modality at weight 0.5: "
        "the table's 'alone' rows\n(weight 1) score slightly differently "
        f"under the regularised classifier. Drawn by {THIS}, {today}.",
        x=0.01,
        ha="left",
        fontsize=8,
    )
    figure.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare, do not write"
    )
    args = parser.parse_args(argv)
    today = datetime.date.today().isoformat()
    result, _ = run(n_segments=3)
    whole_clip, _ = run(n_segments=1)
    text = README.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {START} ... {END} block")
    new = block(result, whole_clip, today)
    if args.check:
        old_table = re.search(r"```\n(.*?)```", pattern.search(text)[0], re.S)[1]
        new_table = re.search(r"```\n(.*?)```", new, re.S)[1]
        if old_table != new_table:
            raise SystemExit(f"README table is stale; run {THIS}:\n{new_table}")
        print("README table is current")
        return
    README.write_text(pattern.sub(lambda _: new, text), encoding="utf-8")
    draw(result.search, FIGURE, today)
    print(f"rewrote {README.relative_to(REPO)} and {FIGURE.relative_to(REPO)}")


if __name__ == "__main__":
    main()
