"""The course-maintenance tooling: what keeps the notebooks, the README and the results true to each
other. No notebook imports it, and no teaching module does.

``python -m aehelpers.course …`` (see :mod:`aehelpers.course.cli`) runs the course headless and
writes the results table (:mod:`~aehelpers.course.runner`), reports where the time goes
(:mod:`~aehelpers.course.profile`), syncs the notation (:mod:`~aehelpers.course.notation`), the
lecture flow and the Colab guard (:mod:`~aehelpers.course.flow`) and the slides
(:mod:`~aehelpers.course.export`), exports HTML pages and slides, redraws the diagrams
(:mod:`~aehelpers.course.diagrams`), fetches and verifies the datasets (:mod:`~aehelpers.course.data`)
and inspects the weights cache. :mod:`~aehelpers.course.nbfiles` holds what they share. Importing
this package imports nothing else.
"""
