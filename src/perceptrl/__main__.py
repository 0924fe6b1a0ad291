import sys

from perceptrl.cli import main

sys.exit(main())
