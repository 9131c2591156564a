from services.cli import main
from services.cli.common import EXIT_INTERRUPTED
from services.core.redact import guard_library_logs

guard_library_logs()
try:
    code = main()
except KeyboardInterrupt:  # Ctrl-C: stop without a traceback, with the status shells use for SIGINT
    code = EXIT_INTERRUPTED
raise SystemExit(code)
