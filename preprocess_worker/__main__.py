import sys

from preprocess_worker.worker import main

sys.exit(main())
