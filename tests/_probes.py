"""Run Python in a fresh interpreter and see which modules it loaded.

The import-weight contracts (``import sklearn_mbm`` stays light, TensorFlow
loads with the first Keras backbone, polars only for polars input) can only be
seen in a process that has not imported anything yet: the test process has.
"""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def modules_loaded(code, modules, *args, timeout=120):
    """Run ``code`` in a fresh ``python -c`` on this checkout.

    ``args`` become ``sys.argv[1:]``. Returns the names in ``modules`` found
    in ``sys.modules`` once ``code`` has run (a failing ``code`` fails the
    test with its stderr).
    """
    probe = (
        f"{code}\nimport sys\n"
        f"print(','.join(m for m in {tuple(modules)!r} if m in sys.modules))\n"
    )
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, "-c", probe, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=path),
        timeout=timeout,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    last = out.stdout.splitlines()[-1]  # the probe's own line, even if empty
    return [name for name in last.split(",") if name]
