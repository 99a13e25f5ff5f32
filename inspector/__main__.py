"""`python -m inspector` runs the command line."""

from .cli import main

if __name__ == "__main__":  # spawned audit processes import this module again: no second run
    main(prog_name="inspector")
