import sys

from ganpipe.cli import main

sys.exit(main())
