"""`python -m chinwag` runs the command line."""

from chinwag.cli import main

main()
