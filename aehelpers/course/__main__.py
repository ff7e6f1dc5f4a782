"""``python -m aehelpers.course …``: the course command line (:mod:`aehelpers.course.cli`)."""

import sys

from aehelpers.course.cli import main

sys.exit(main())
