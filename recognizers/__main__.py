import sys

from recognizers.cli.main import main

sys.exit(main())
