import sys

from recognizers.cli import main

sys.exit(main())
