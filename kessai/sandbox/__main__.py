"""``python -m kessai.sandbox atone --port 8101`` (same as ``kessai sandbox atone --port 8101``)."""

import sys

from kessai.sandbox.cli import main

sys.exit(main(sys.argv[1:]))
