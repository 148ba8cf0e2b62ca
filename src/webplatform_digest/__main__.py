"""``python -m webplatform_digest`` runs the CLI."""

from webplatform_digest.cli import main

raise SystemExit(main())
