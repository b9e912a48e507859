"""`python -m dindtui`: the same as the `dindtui` command."""

import sys

from .cli import main

sys.exit(main())
