from cvbook.cli import main

raise SystemExit(main())
