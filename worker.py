"""Entry point of the scheduled sync worker; the same as `tierdesk worker`.

Configuration comes from the environment: TIERDESK_MAPPINGS (default `mappings/`), TIERDESK_DB
(default a SQLite file), and the credential variables the connections name.
"""

import sys

from connector.cli import main

if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", *sys.argv[1:]]
    main()
