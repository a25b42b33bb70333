"""``python -m recette_sas.cli``: the same as the ``recette-sas`` console script."""

from recette_sas.cli.main import main

raise SystemExit(main())
