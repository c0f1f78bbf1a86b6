"""`python -m tools_server`: the same entry point as the `tools-server` console script."""

import sys

from tools_server.cli.main import main

sys.exit(main())
