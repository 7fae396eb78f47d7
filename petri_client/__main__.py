from __future__ import annotations

from petri_client.cli import main

raise SystemExit(main())
