import sys

from gann_core.cli import main

sys.exit(main())
