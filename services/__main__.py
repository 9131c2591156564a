from services.cli import main
from services.core.redact import guard_library_logs

guard_library_logs()
raise SystemExit(main())
