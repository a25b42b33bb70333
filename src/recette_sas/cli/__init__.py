"""The ``recette-sas`` console script: one argparse tree (``main``), one module per command group."""
