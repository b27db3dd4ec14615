"""`python -m devrun` (what `make run` runs): see `devrun.stack`."""

import sys

from devrun.stack import main, print_token

if sys.argv[1:2] == ["token"] and len(sys.argv) == 3:
    sys.exit(print_token(sys.argv[2]))
sys.exit(main())
